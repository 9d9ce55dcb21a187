/**
 * `authrelay send-test --to ADDR`: sends a real test message through the
 * running relay over SMTP, then follows it through the queue and prints each
 * step until it is delivered, held or failed (or the wait runs out).
 */
import nodemailer from 'nodemailer';
import { hostname } from 'node:os';
import { openStore } from '../../spool/open.js';
import { parseDuration } from '../../core/units.js';
import { labelOf, MESSAGE_STATE_TEXTS, TRAIL_KIND_TEXTS, trailLine } from '../../core/trail-texts.js';
import { SEND_TEST_TEXT as S } from '../../deliver/send-test-text.js';
import { cliLang, formatTime, loadConfig, tr, UsageError } from '../common.js';
import { CLI_TEXT as T, usage } from '../texts.js';

export interface SendTestFlags {
  config?: string | undefined;
  to?: string | undefined;
  from?: string | undefined;
  listener?: string | undefined;
  port?: string | undefined;
  host?: string | undefined;
  user?: string | undefined;
  password?: string | undefined;
  wait?: string | undefined;
  route?: string | undefined;
}

export async function sendTest(flags: SendTestFlags): Promise<number> {
  if (!flags.to) throw new UsageError(usage('authrelay send-test --to ADDR [--from ADDR] [--listener NAME|--port N] [--user U] [--wait 60s]\n       authrelay send-test --route UPSTREAM --to ADDR [--from ADDR]   (straight through one upstream, step by step)'));
  if (flags.route) {
    const { config } = loadConfig(flags.config);
    const { sendTestRoute } = await import('../../deliver/send-test-route.js');
    return sendTestRoute(config, { route: flags.route, to: flags.to, from: flags.from }, (l) => process.stdout.write(`${l}\n`), cliLang());
  }
  const waitMs = parseDuration(flags.wait ?? '60s');
  if (waitMs === undefined) throw new UsageError(T.badWait, { value: flags.wait });
  const { config } = loadConfig(flags.config);
  // A proxyProtocol listener only takes connections that start with a load balancer's PROXY header: another one is preferred.
  // IMAP and POP3 listeners (legacy readers) take no mail: only SMTP listeners are tried.
  const smtp = config.listeners.filter((x) => x.protocol === 'smtp');
  const l = flags.listener
    ? smtp.find((x) => x.name === flags.listener)
    : smtp.find((x) => x.port !== 0 && !x.proxyProtocol) ?? smtp.find((x) => x.port !== 0) ?? smtp[0];
  if (!l) throw new UsageError(T.noListener, { name: flags.listener });
  const port = flags.port !== undefined ? Number(flags.port) : l.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(T.badPort, { value: flags.port });
  if (!port) throw new UsageError(T.portZero);
  const host = flags.host ?? (l.host === '0.0.0.0' || l.host === '::' ? '127.0.0.1' : l.host);
  const from = flags.from ?? `authrelay-test@${hostname()}`;
  const password = flags.password ?? process.env.AUTHRELAY_TEST_PASSWORD;
  const step = (s: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${s}\n`);
  step(flags.user ? tr(S.connectingAs, { host, port, tls: l.tls, user: flags.user }) : tr(S.connectingTrusted, { host, port, tls: l.tls }));
  if (l.proxyProtocol && flags.port === undefined) step(tr(S.proxyNote, { name: l.name ?? port }));
  const transport = nodemailer.createTransport({
    host, port, secure: l.tls === 'implicit', requireTLS: l.tls === 'starttls', ignoreTLS: l.tls === 'none',
    // The relay's own certificate is usually self-signed; this test talks to the local relay only.
    tls: { rejectUnauthorized: false, minVersion: 'TLSv1.2' },
    ...(flags.user ? { auth: { user: flags.user, pass: password ?? '' } } : {}),
  });
  let queueId: string;
  try {
    const info = await transport.sendMail({
      envelope: { from, to: [flags.to] },
      from, to: flags.to,
      subject: `authrelay test message ${new Date().toISOString()}`,
      text: `This is a test message sent by "authrelay send-test" on ${hostname()}.\r\nIf you can read it, the route works.\r\n`,
    });
    const m = /queued as ([A-Z0-9.]+)/.exec(info.response);
    step(tr(S.relayAnswered, { response: info.response }));
    if (!m) return 1;
    queueId = m[1]!;
  } catch (err) {
    const e = err as { response?: string; message: string };
    step(tr(S.relayRefused, { response: e.response ?? e.message }));
    return 1;
  } finally {
    transport.close();
  }
  const store = openStore(config);
  await store.init();
  try {
    const deadline = Date.now() + waitMs;
    let shown = 0;
    for (;;) {
      const trail = await store.trail(queueId);
      for (const e of trail.slice(shown)) step(`${tr(labelOf(TRAIL_KIND_TEXTS, e.kind))}: ${tr(trailLine(e))}`);
      shown = trail.length;
      const msg = await store.get(queueId);
      const state = msg?.state;
      if (state === 'delivered') return (step(tr(S.delivered, { time: formatTime(msg!.updatedAt) })), 0);
      if (state === 'failed' || state === 'held') {
        for (const r of msg!.recipientRecords) {
          const hint = (cliLang() === 'ja' ? r.last?.ja?.hint : undefined) || r.last?.hint;
          if (hint) step(`${r.address}: ${hint}`);
        }
        return (step(tr(S.ended, { state: tr(labelOf(MESSAGE_STATE_TEXTS, state)), id: queueId })), state === 'held' ? 2 : 1);
      }
      if (Date.now() > deadline) {
        return (step(tr(S.stillWaiting, { state: state ? tr(labelOf(MESSAGE_STATE_TEXTS, state)) : tr(S.unknownState), wait: flags.wait ?? '60s', id: queueId })), 3);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await store.close();
  }
}
