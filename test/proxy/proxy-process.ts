/**
 * An IMAP proxy listener alone in its own process, for the memory test
 * (proxy-memory.test.ts): the parent reads this process's peak RSS from
 * /proc. Settings come as JSON in AUTHRELAY_PROXY_CHILD; the bound port is
 * printed as one JSON line; SIGTERM closes the listener and exits.
 */
import { readFileSync } from 'node:fs';
import { createLogger } from '../../src/core/log.js';
import { Lockout } from '../../src/identity/lockout.js';
import { startProxyListener } from '../../src/proxy/listener.js';
import { proxyTlsContext } from '../../src/proxy/common/tls.js';
import { DeviceLoginPolicy } from '../../src/proxy/common/device-login-policy.js';
import type { ReaderDevice } from '../../src/proxy/common/mailbox-policy.js';

interface ChildSettings {
  upstreamPort: number;
  ca: string;
  certFile: string;
  keyFile: string;
  token: string;
  devices: ReaderDevice[];
}

const s = JSON.parse(process.env.AUTHRELAY_PROXY_CHILD ?? '{}') as ChildSettings;
const log = createLogger('warn', process.stderr);
const listener = await startProxyListener({
  name: 'imaps-memory',
  protocol: 'imap',
  host: '127.0.0.1',
  port: 0,
  tls: { mode: 'implicit', context: proxyTlsContext({ key: readFileSync(s.keyFile), cert: readFileSync(s.certFile), minVersion: 'TLSv1.2' }) },
  maxClients: 100,
  lineTimeoutMs: 60_000,
  policy: new DeviceLoginPolicy(s.devices, { lockout: new Lockout({ limit: 100, windowMs: 60_000, lockMs: 60_000 }), failureDelayMs: 10, trustNetworks: false }),
  upstream: { host: '127.0.0.1', port: s.upstreamPort, ca: s.ca, getToken: async () => ({ token: s.token }) },
  log,
});
process.stdout.write(`${JSON.stringify({ port: listener.port })}\n`);
process.once('SIGTERM', () => {
  listener.close().then(() => process.exit(0), () => process.exit(1));
});
