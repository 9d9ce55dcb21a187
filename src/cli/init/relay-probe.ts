/**
 * `authrelay init` for another SMTP relay: before anything is written, the
 * relay is probed (config/wizard/smtp-probe.ts), what it offers is shown, and
 * the `tls` mode that works and is safest goes into the answers. A relay that
 * offers no TLS at all makes `tls: none`, a security downgrade: the wizard
 * asks (another relay, write it anyway, or stop); with --yes it refuses
 * unless --allow-no-tls is given.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { InitAnswers } from '../../config/wizard/answers.js';
import { describeProbe } from '../../config/wizard/smtp-probe-proposal.js';
import { probeSmtp, type SmtpProbe } from '../../config/wizard/smtp-probe.js';
import type { InitFlags } from './answers.js';
import type { Prompter } from './prompter.js';

export type RelayChoice = { probe: SmtpProbe } | { exit: number };

/** Probes answers.relay and sets its tls; asks again (or refuses) before a downgrade to tls: none. */
export async function probeRelay(p: Prompter, flags: InitFlags, a: InitAnswers, baseDir: string): Promise<RelayChoice> {
  for (;;) {
    const r = a.relay!;
    p.say(`Looking at the relay ${r.host}:${r.port} ...`);
    const probe = await probeSmtp({ host: r.host, port: r.port, helo: hostname(), ...(r.ca ? { ca: readFileSync(resolve(baseDir, r.ca), 'utf8') } : {}) });
    for (const line of describeProbe(probe)) p.say(line);
    const tls = probe.proposal.tls;
    // Nothing answered: the live test says so, and the failed test is handled there.
    if (!tls) return { probe };
    if (!probe.proposal.downgrade || flags['allow-no-tls']) {
      r.tls = tls;
      if (tls === 'none') p.say('  Writing tls: none (--allow-no-tls): mail to this relay is not encrypted.');
      return { probe };
    }
    if (p.unattended) {
      process.stderr.write(`authrelay: ${r.host}:${r.port} offers no TLS, so mail (and any password) would cross the network unencrypted; nothing was written. `
        + 'Add --allow-no-tls to write tls: none anyway (on a network you trust), or use a relay that offers STARTTLS or TLS.\n');
      return { exit: 1 };
    }
    const next = await p.choose(`\n${r.host}:${r.port} offers no TLS: mail (and a password, if one is set) would cross the network unencrypted. What now?`, [
      { value: 'back', label: 'enter another relay host and port' },
      { value: 'none', label: 'write tls: none anyway (only on a network you trust)' },
      { value: 'quit', label: 'stop without writing anything' },
    ], { default: 'back' });
    if (next === 'none') {
      r.tls = 'none';
      return { probe };
    }
    if (next === 'quit') {
      p.say('Nothing was written.');
      return { exit: 1 };
    }
    await askRelayAgain(p, r);
  }
}

/** The relay's host and port once more, the current ones as defaults. */
export async function askRelayAgain(p: Prompter, r: NonNullable<InitAnswers['relay']>): Promise<void> {
  r.host = await p.ask({ label: 'Relay host', default: r.host });
  r.port = Number(await p.ask({ label: 'Relay port', default: String(r.port), check: (v) => (/^\d+$/.test(v) && Number(v) > 0 && Number(v) <= 65535 ? undefined : 'a port number') }));
}
