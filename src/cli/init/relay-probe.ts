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
import { cliLang, complain, tr } from '../common.js';
import { INIT_TEXT as T } from './texts.js';

export type RelayChoice = { probe: SmtpProbe } | { exit: number };

/** Probes answers.relay and sets its tls; asks again (or refuses) before a downgrade to tls: none. */
export async function probeRelay(p: Prompter, flags: InitFlags, a: InitAnswers, baseDir: string): Promise<RelayChoice> {
  for (;;) {
    const r = a.relay!;
    p.say(tr(T.lookingAtRelay, { host: r.host, port: r.port }));
    const probe = await probeSmtp({ host: r.host, port: r.port, helo: hostname(), ...(r.ca ? { ca: readFileSync(resolve(baseDir, r.ca), 'utf8') } : {}) });
    for (const line of describeProbe(probe, cliLang())) p.say(line);
    const tls = probe.proposal.tls;
    // Nothing answered: the live test says so, and the failed test is handled there.
    if (!tls) return { probe };
    if (!probe.proposal.downgrade || flags['allow-no-tls']) {
      r.tls = tls;
      if (tls === 'none') p.say(tr(T.writingNoTls));
      return { probe };
    }
    if (p.unattended) {
      complain(T.noTlsRefused, { host: r.host, port: r.port });
      return { exit: 1 };
    }
    const next = await p.choose(tr(T.noTlsWhatNow, { host: r.host, port: r.port }), [
      { value: 'back', label: tr(T.anotherRelay) },
      { value: 'none', label: tr(T.writeNoTls) },
      { value: 'quit', label: tr(T.quit) },
    ], { default: 'back' });
    if (next === 'none') {
      r.tls = 'none';
      return { probe };
    }
    if (next === 'quit') {
      p.say(tr(T.nothingWritten));
      return { exit: 1 };
    }
    await askRelayAgain(p, r);
  }
}

/** The relay's host and port once more, the current ones as defaults. */
export async function askRelayAgain(p: Prompter, r: NonNullable<InitAnswers['relay']>): Promise<void> {
  r.host = await p.ask({ label: tr(T.askRelayHostAgain), default: r.host });
  r.port = Number(await p.ask({ label: tr(T.askRelayPortAgain), default: String(r.port), check: (v) => (/^\d+$/.test(v) && Number(v) > 0 && Number(v) <= 65535 ? undefined : tr(T.checkRelayPort)) }));
}
