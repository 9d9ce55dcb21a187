/**
 * Shared pieces of the sign-in tests: upstream configs pointed at the
 * Microsoft 365 emulator (parsed by the real schema, so defaults apply), a
 * test certificate made with openssl, a quiet logger that keeps every line
 * (to check that no secret is logged), and a small CONNECT proxy that
 * records where it tunnelled to.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { graphUpstreamSchema, smtpOauthUpstreamSchema, type GraphUpstreamConfig, type SmtpOauthUpstreamConfig } from '../../src/config/schema.js';
import assert from 'node:assert/strict';
import { createLogger, type Logger } from '../../src/core/log.js';
import { TokenError } from '../../src/identity/entra/token-provider.js';
import type { Emulator } from '../emulator/api.js';

export function graphConfig(emu: Emulator, fields: Record<string, unknown>): GraphUpstreamConfig {
  return graphUpstreamSchema.parse({ type: 'graph', endpoints: { authority: emu.authorityHost, graph: emu.graphUrl }, ca: emu.caFile, ...fields });
}

export function smtpOauthConfig(emu: Emulator, fields: Record<string, unknown>): SmtpOauthUpstreamConfig {
  return smtpOauthUpstreamSchema.parse({
    type: 'smtp-oauth',
    endpoints: { authority: emu.authorityHost, smtp: `${emu.smtpHost}:${emu.smtpPort}` },
    ca: emu.caFile,
    ...fields,
  });
}

/** Awaits a token request that must be refused; answers its TokenError (any other outcome fails the test). */
export async function refused(p: Promise<unknown>): Promise<TokenError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TokenError, `expected a TokenError, got ${String(err)}`);
    return err;
  }
  assert.fail('the token request should have failed');
}

export function tempDir(prefix = 'authrelay-identity-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A logger whose lines are kept in `lines` (JSON text). */
export function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { log: createLogger('debug', sink), lines };
}

export interface TestCertificate {
  cert: string;
  key: string;
  certPem: string;
  /** The same key encrypted with `passphrase`. */
  encryptedKey: string;
  passphrase: string;
}

/** An RSA key and self-signed certificate, as one would upload to an app registration. */
export function makeCertificate(dir: string, name = 'app'): TestCertificate {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const encryptedKey = join(dir, `${name}.enc.key`);
  const passphrase = 'correct horse battery staple';
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=authrelay ${name}`], { stdio: 'ignore' });
  execFileSync('openssl', ['pkcs8', '-topk8', '-in', key, '-out', encryptedKey, '-v2', 'aes-256-cbc', '-passout', `pass:${passphrase}`], { stdio: 'ignore' });
  const certPem = readFileSync(cert, 'utf8');
  return { cert, key, certPem, encryptedKey, passphrase };
}

export function writeText(dir: string, name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

/** An HTTP proxy that only does CONNECT tunnels, recording each target. */
export async function startConnectProxy(): Promise<{ url: string; targets: string[]; close(): Promise<void> }> {
  const targets: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => {
    res.writeHead(405).end();
  });
  server.on('connect', (req, socket, head) => {
    const target = req.url ?? '';
    targets.push(target);
    const [host, port] = target.split(':');
    sockets.add(socket as Socket);
    const upstream = connect(Number(port), host!, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    targets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
