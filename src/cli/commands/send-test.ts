/**
 * `authrelay send-test --to ADDR`: sends a real test message through the
 * running relay over SMTP, then follows it through the queue and prints each
 * step until it is delivered, held or failed (or the wait runs out).
 */
import nodemailer from 'nodemailer';
import { hostname } from 'node:os';
import { openStore } from '../../spool/open.js';
import { parseDuration } from '../../core/units.js';
import { formatTime, loadConfig, UsageError } from '../common.js';

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
  if (!flags.to) throw new UsageError('usage: authrelay send-test --to ADDR [--from ADDR] [--listener NAME|--port N] [--user U] [--wait 60s]\n       authrelay send-test --route UPSTREAM --to ADDR [--from ADDR]   (straight through one upstream, step by step)');
  if (flags.route) {
    const { config } = loadConfig(flags.config);
    const { sendTestRoute } = await import('../../deliver/send-test-route.js');
    return sendTestRoute(config, { route: flags.route, to: flags.to, from: flags.from }, (l) => process.stdout.write(`${l}\n`));
  }
  const waitMs = parseDuration(flags.wait ?? '60s');
  if (waitMs === undefined) throw new UsageError(`--wait must be a duration such as 30s or 2m (not "${flags.wait}")`);
  const { config } = loadConfig(flags.config);
  // A proxyProtocol listener only takes connections that start with a load balancer's PROXY header: another one is preferred.
  const l = flags.listener
    ? config.listeners.find((x) => x.name === flags.listener)
    : config.listeners.find((x) => x.port !== 0 && !x.proxyProtocol) ?? config.listeners.find((x) => x.port !== 0) ?? config.listeners[0];
  if (!l) throw new UsageError(`no listener named ${flags.listener}`);
  const port = flags.port !== undefined ? Number(flags.port) : l.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a TCP port number (not "${flags.port}")`);
  if (!port) throw new UsageError('the listener has port 0 (chosen at start); give the actual port with --port');
  const host = flags.host ?? (l.host === '0.0.0.0' || l.host === '::' ? '127.0.0.1' : l.host);
  const from = flags.from ?? `authrelay-test@${hostname()}`;
  const password = flags.password ?? process.env.AUTHRELAY_TEST_PASSWORD;
  const step = (s: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${s}\n`);
  step(`connecting to ${host}:${port} (${l.tls})${flags.user ? ` as ${flags.user}` : ' without AUTH (trusted address)'}`);
  if (l.proxyProtocol && flags.port === undefined) {
    step(`note: listener ${l.name ?? port} has proxyProtocol: it refuses connections that do not come from a trusted proxy with a PROXY header. Add a listener without proxyProtocol on 127.0.0.1 for local tools, or send through the load balancer with --host/--port`);
  }
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
    step(`relay answered: ${info.response}`);
    if (!m) return 1;
    queueId = m[1]!;
  } catch (err) {
    const e = err as { response?: string; message: string };
    step(`the relay refused the test message: ${e.response ?? e.message}`);
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
      for (const e of trail.slice(shown)) step(`${e.kind}: ${e.text}`);
      shown = trail.length;
      const msg = await store.get(queueId);
      const state = msg?.state;
      if (state === 'delivered') return (step(`delivered (${formatTime(msg!.updatedAt)})`), 0);
      if (state === 'failed' || state === 'held') {
        for (const r of msg!.recipientRecords) if (r.last?.hint) step(`${r.address}: ${r.last.hint}`);
        return (step(`${state}; see: authrelay queue show ${queueId}`), state === 'held' ? 2 : 1);
      }
      if (Date.now() > deadline) return (step(`still ${state ?? 'unknown'} after ${flags.wait ?? '60s'}; see: authrelay queue show ${queueId}`), 3);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await store.close();
  }
}
