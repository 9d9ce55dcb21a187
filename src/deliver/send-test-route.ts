/**
 * `authrelay send-test --route NAME --to ADDR`: sends a real test message
 * straight through one configured upstream, without the queue, and prints
 * each step of the attempt (token, connection, request, response; for an
 * SMTP upstream the whole conversation). On failure it prints what the
 * upstream's answer means and what to do, from the error catalogue; every
 * refusal has a "what to do" line. Nothing is stored; the relay need not be
 * running.
 */
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../core/log.js';
import { newMessageId } from '../core/ids.js';
import { createTransport, lazyTokenProviders } from './factory.js';
import { UserError } from '../core/user-error.js';

export interface RouteTestFlags {
  route: string;
  to: string;
  from?: string | undefined;
}

export async function sendTestRoute(config: Config, flags: RouteTestFlags, out: (line: string) => void): Promise<number> {
  const upstream = config.upstreams[flags.route];
  if (!upstream) {
    const names = Object.keys(config.upstreams);
    throw new UserError(`no upstream named "${flags.route}"${names.length ? `; configured: ${names.join(', ')}` : '; none is configured'}`);
  }
  const step = (s: string) => out(`${new Date().toISOString().slice(11, 19)}  ${s}`);
  const routeMailbox = 'mailbox' in upstream ? upstream.mailbox : undefined;
  const relayName = config.hostname ?? hostname();
  const from = flags.from ?? routeMailbox ?? `authrelay-test@${relayName}`;
  const raw = await new MailComposer({
    from, to: flags.to,
    subject: `authrelay test message via ${flags.route} ${new Date().toISOString()}`,
    text: `This is a test message sent by "authrelay send-test --route ${flags.route}" on ${hostname()}.\r\nIf you can read it, the route works.\r\n`,
    headers: { 'X-Authrelay-Test': flags.route },
  }).compile().build();
  // Logs stay quiet here: the steps are printed as they happen.
  const log = createLogger('silent');
  const tokens = lazyTokenProviders({ dataDir: config.dataDir, secretKey: config.secretKey, log });
  const transport = await createTransport(flags.route, upstream, { log, tokens: tokens.get, hostname: relayName }).catch((err: unknown) => {
    tokens.close();
    throw err;
  });
  step(`route ${flags.route}: ${upstream.type} upstream; test message from ${from} to ${flags.to} (${raw.length} bytes)`);
  try {
    const outcomes = await transport.deliver(
      {
        id: `TEST${newMessageId()}`, sender: from, recipients: [flags.to], size: raw.length, device: null,
        headerFrom: from, openBody: () => Readable.from([raw]),
      },
      {
        signal: AbortSignal.timeout(5 * 60_000),
        trace: (s, detail) => step(detail && Object.keys(detail).length ? `${s} ${formatDetail(detail)}` : s),
      },
    );
    let ok = true;
    for (const { recipient, outcome } of outcomes) {
      if (outcome.action === 'delivered') {
        step(`${recipient}: accepted by the upstream${outcome.response ? `: ${outcome.response}` : ''}`);
        continue;
      }
      ok = false;
      step(`${recipient}: ${outcome.action === 'retry' ? 'not sent (would be retried)' : outcome.action === 'hold' ? 'held' : 'refused'}${outcome.response ? `: ${outcome.response}` : ''}`);
      if (outcome.hint) step(`  what it means: ${outcome.hint}`);
      step(`  what to do: ${outcome.fix ?? NO_FIX}`);
      if (outcome.ref) step(`  reference: ${outcome.ref} (docs/errors.md)`);
      if (outcome.possibleDuplicate) step('  the upstream may have taken it although it did not confirm; look in the recipient mailbox before sending again');
    }
    if (ok) step('the route works: the upstream accepted the test message');
    return ok ? 0 : 1;
  } finally {
    await transport.close();
    tokens.close();
  }
}

const NO_FIX = 'Read the upstream\'s answer above and look in its log at this time; docs/errors.md explains the answers the relay knows.';

function formatDetail(d: Record<string, unknown>): string {
  return Object.entries(d)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}
