/**
 * The IMAP/POP proxy tests' world: the Microsoft 365 emulator (a tenant and
 * an app with IMAP.AccessAsApp and POP.AccessAsApp), a private Dovecot that
 * validates the emulator's tokens (test/helpers/dovecot.ts), the relay's
 * self-signed RSA certificate for both, devices with scrypt passwords, and
 * proxy listeners started the way the composition root will start them,
 * with a logger whose JSON lines the tests read.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { startEmulator } from '../emulator/index.js';
import type { Emulator, EmulatorApp, EmulatorTenant } from '../emulator/api.js';
import { grantMailboxRole, tokenIssuer, tokenSigningKey, type MailboxRole } from '../emulator/imap-tokens.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { sharedCertificate } from '../helpers/cert.js';
import { smtpOauthConfig } from '../identity/entra-fixtures.js';
import { createLogger, type Logger } from '../../src/core/log.js';
import { hashPassword } from '../../src/identity/password.js';
import { Lockout } from '../../src/identity/lockout.js';
import { AppTokenProvider } from '../../src/identity/entra/app-token-provider.js';
import type { TokenProvider } from '../../src/identity/entra/token-provider.js';
import { startProxyListener, type ProxyListener } from '../../src/proxy/listener.js';
import { proxyTlsContext } from '../../src/proxy/common/tls.js';
import { DeviceLoginPolicy } from '../../src/proxy/common/device-login-policy.js';
import type { ReaderDevice } from '../../src/proxy/common/mailbox-policy.js';
import type { MailProtocol, ProxyTelemetry, UpstreamTarget } from '../../src/proxy/common/types.js';
import type { Cidr } from '../../src/core/net.js';

export const PASSWORD = 'Tr0ub4dor&3 of the scanner';
export const OTHER_PASSWORD = 'correct horse of the other device';

export interface World {
  emu: Emulator;
  tenant: EmulatorTenant;
  app: EmulatorApp;
  secret: string;
  dovecot: Dovecot;
  /** PEM files of the certificate the proxy and Dovecot present (self-signed: also the CA to trust). */
  certFile: string;
  keyFile: string;
  certPem: string;
  domain: string;
  /** alice: the reader device's mailbox; bob: the other device's. */
  alice: string;
  bob: string;
  devices: ReaderDevice[];
  log: Logger;
  /** The proxy's log lines, parsed. */
  lines: Record<string, unknown>[];
  /** A fresh token provider (its own cache), as the relay makes one per app. */
  tokens(): TokenProvider;
  close(): Promise<void>;
}

export async function startWorld(roles: MailboxRole[] = ['IMAP.AccessAsApp', 'POP.AccessAsApp']): Promise<World> {
  const emu = await startEmulator();
  const domain = `contoso-${randomBytes(3).toString('hex')}.com`;
  const tenant = emu.addTenant({ domains: [`${domain.split('.')[0]}.onmicrosoft.com`, domain] });
  const secret = `s3cr3t~${randomBytes(12).toString('base64url')}`;
  const app = emu.addApp(tenant.id, { secrets: [{ value: secret }], exchangeRoles: [] });
  for (const r of roles) grantMailboxRole(app, r);
  const key = await tokenSigningKey(emu, tenant.id);
  const { cert: certFile, key: keyFile } = await sharedCertificate();
  const dovecot = await startDovecot({ issuers: [tokenIssuer(tenant.id)], keys: [{ azp: app.clientId, kid: key.kid, pem: key.pem }], tls: { cert: certFile, key: keyFile } });
  const alice = `alice@${domain}`;
  const bob = `bob@${domain}`;
  const devices: ReaderDevice[] = [
    { name: 'reader', username: 'reader', passwordHash: await hashPassword(PASSWORD), networks: [], mailboxes: [alice] },
    { name: 'other', username: 'other', passwordHash: await hashPassword(OTHER_PASSWORD), networks: [], mailboxes: [bob] },
  ];
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const log = createLogger('debug', sink);
  const tokens = () => new AppTokenProvider(smtpOauthConfig(emu, { tenant: tenant.id, clientId: app.clientId, clientSecret: secret }), 'smtp', log);
  return {
    emu, tenant, app, secret, dovecot, certFile, keyFile, certPem: readFileSync(certFile, 'utf8'), domain, alice, bob, devices, log, lines, tokens,
    close: async () => {
      await dovecot.stop();
      await emu.close();
    },
  };
}

export interface ProxyOptions {
  protocol: MailProtocol;
  tls: 'none' | 'starttls' | 'implicit';
  minVersion?: 'TLSv1' | 'TLSv1.2' | 'TLSv1.3';
  lockout?: Lockout;
  tokens?: TokenProvider;
  devices?: ReaderDevice[];
  name?: string;
  maxClients?: number;
  lineTimeoutMs?: number;
  allowInsecureAuth?: boolean;
  proxyProtocol?: { trusted: readonly Cidr[]; headerTimeoutMs: number };
  /** Replaces parts of the upstream (an unreachable port...). */
  upstream?: Partial<UpstreamTarget>;
  telemetry?: ProxyTelemetry;
}

/** A proxy listener on 127.0.0.1 in front of the world's Dovecot. */
export async function startProxy(w: World, o: ProxyOptions): Promise<ProxyListener> {
  const tokens = o.tokens ?? w.tokens();
  const context = o.tls === 'none' ? undefined : proxyTlsContext({ key: readFileSync(w.keyFile), cert: readFileSync(w.certFile), minVersion: o.minVersion ?? 'TLSv1.2' });
  const policy = new DeviceLoginPolicy(o.devices ?? w.devices, {
    lockout: o.lockout ?? new Lockout({ limit: 100, windowMs: 60_000, lockMs: 60_000 }),
    failureDelayMs: 10,
    trustNetworks: true,
  });
  return startProxyListener({
    name: o.name ?? `${o.protocol}-${o.tls}-${o.minVersion ?? 'TLSv1.2'}`,
    protocol: o.protocol,
    host: '127.0.0.1',
    port: 0,
    tls: { mode: o.tls, ...(context ? { context } : {}) },
    allowInsecureAuth: o.allowInsecureAuth ?? false,
    ...(o.proxyProtocol ? { proxyProtocol: o.proxyProtocol } : {}),
    maxClients: o.maxClients ?? 100,
    lineTimeoutMs: o.lineTimeoutMs ?? 30_000,
    policy,
    upstream: {
      host: '127.0.0.1',
      port: o.protocol === 'imap' ? w.dovecot.imapPort : w.dovecot.pop3Port,
      ca: w.certPem,
      getToken: (signal) => tokens.getToken(signal),
      ...o.upstream,
    },
    log: w.log,
    ...(o.telemetry ? { telemetry: o.telemetry } : {}),
  });
}

/** A message of about `size` bytes: headers, then base64 lines of 76 characters, CRLF throughout. */
export function bigMessage(size: number, subject: string): Buffer {
  const head = `From: scanner@contoso.com\r\nTo: reader@contoso.com\r\nSubject: ${subject}\r\nMessage-ID: <${randomBytes(8).toString('hex')}@test>\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n`;
  const lines = Math.ceil((size - head.length) / 78);
  const b64 = randomBytes(lines * 57).toString('base64');
  const parts: string[] = [head];
  for (let i = 0; i < lines; i++) parts.push(`${b64.slice(i * 76, i * 76 + 76)}\r\n`);
  return Buffer.from(parts.join(''), 'latin1');
}

export function smallMessage(subject: string): Buffer {
  return Buffer.from(`From: scanner@contoso.com\r\nTo: reader@contoso.com\r\nSubject: ${subject}\r\nMessage-ID: <${randomBytes(8).toString('hex')}@test>\r\n\r\n${subject}: a few lines of text.\r\n`);
}

/** The proxy's log lines with this event. */
export function events(w: World, event: string): Record<string, unknown>[] {
  return w.lines.filter((l) => l.event === event);
}
