/**
 * `authrelay send-test --route NAME --to ADDR`: sends a real test message
 * straight through one configured upstream, without the queue, and prints
 * each step of the attempt (token, connection, request, response; for an
 * SMTP upstream the whole conversation). On failure it prints what the
 * upstream's answer means and what to do, from the error catalogue; every
 * refusal has a "what to do" line. Nothing is stored; the relay need not be
 * running. The steps are in `lang` (the CLI's language, or the console's
 * Accept-Language); the upstream's own answers and traces as they are.
 */
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../core/log.js';
import { newMessageId } from '../core/ids.js';
import { createTransport, lazyTokenProviders } from './factory.js';
import { UserError } from '../core/user-error.js';
import { render, type Lang } from '../core/i18n.js';
import { SEND_TEST_TEXT as T } from './send-test-text.js';

export interface RouteTestFlags {
  route: string;
  to: string;
  from?: string | undefined;
}

export async function sendTestRoute(config: Config, flags: RouteTestFlags, out: (line: string) => void, lang: Lang = 'en'): Promise<number> {
  const upstream = config.upstreams[flags.route];
  if (!upstream) {
    const names = Object.keys(config.upstreams);
    throw names.length ? new UserError(T.noUpstream, { name: flags.route, names: names.join(', ') }) : new UserError(T.noUpstreamNone, { name: flags.route });
  }
  const step = (s: string) => out(`${new Date().toISOString().slice(11, 19)}  ${s}`);
  const tr = (text: Parameters<typeof render>[0], values?: Parameters<typeof render>[2]) => render(text, lang, values);
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
  step(tr(T.routeStart, { route: flags.route, type: upstream.type, from, to: flags.to, bytes: raw.length }));
  try {
    const outcomes = await transport.deliver(
      {
        id: `TEST${newMessageId()}`, sender: from, recipients: [flags.to], size: raw.length, device: null,
        headerFrom: from, openBody: () => Readable.from([raw]),
      },
      {
        signal: AbortSignal.timeout(5 * 60_000),
        trace: (s, detail) => {
          const name = traceName(s, lang);
          step(detail && Object.keys(detail).length ? `${name} ${formatDetail(detail)}` : name);
        },
      },
    );
    let ok = true;
    for (const { recipient, outcome } of outcomes) {
      if (outcome.action === 'delivered') {
        step(outcome.response ? tr(T.acceptedSaid, { recipient, response: outcome.response }) : tr(T.accepted, { recipient }));
        continue;
      }
      ok = false;
      const what = tr(outcome.action === 'retry' ? T.wouldRetry : outcome.action === 'hold' ? T.held : T.refused);
      step(`${recipient}: ${what}${outcome.response ? `: ${outcome.response}` : ''}`);
      // The catalogue's Japanese when the entry has one, else its English.
      const hint = (lang === 'ja' ? outcome.ja?.hint : undefined) || outcome.hint;
      const fix = (lang === 'ja' ? outcome.ja?.fix : undefined) || outcome.fix;
      if (hint) step(tr(T.meaning, { hint }));
      step(tr(T.whatToDo, { fix: fix ?? tr(T.noFix) }));
      if (outcome.ref) step(tr(T.reference, { ref: outcome.ref }));
      if (outcome.possibleDuplicate) step(tr(T.possibleDuplicate));
    }
    if (ok) step(tr(T.routeWorks));
    return ok ? 0 : 1;
  } finally {
    await transport.close();
    tokens.close();
  }
}

/** A trace step's name in the language asked for (a step the table does not name shows as it is). */
function traceName(step: string, lang: Lang): string {
  const key = `trace.${step}`;
  return Object.hasOwn(T, key) ? render(T[key as keyof typeof T], lang) : step;
}

function formatDetail(d: Record<string, unknown>): string {
  return Object.entries(d)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}
