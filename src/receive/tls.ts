/**
 * Certificates and TLS settings of the listeners. A self-signed RSA
 * certificate is made on first start when none is configured (RSA, because
 * legacy devices negotiate TLS_RSA suites and TLS 1.0 needs an RSA key).
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { ListenerConfig } from '../config/schema.js';
import type { Logger } from '../core/log.js';

export interface CertificatePair {
  cert: string;
  key: string;
  source: string;
}

export async function ensureCertificate(
  configured: { cert?: string | undefined; key?: string | undefined },
  dataDir: string,
  hostname: string,
  log: Logger,
): Promise<CertificatePair> {
  if (configured.cert && configured.key) {
    return { cert: readFileSync(configured.cert, 'utf8'), key: readFileSync(configured.key, 'utf8'), source: configured.cert };
  }
  const dir = join(dataDir, 'tls');
  const certFile = join(dir, 'self-signed.crt');
  const keyFile = join(dir, 'self-signed.key');
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile, 'utf8');
    const expires = new Date(new X509Certificate(cert).validTo);
    if (expires.getTime() > Date.now() + 7 * 86_400_000) return { cert, key: readFileSync(keyFile, 'utf8'), source: certFile };
    log.warn({ event: 'certificate', file: certFile, expires }, 'self-signed certificate expires soon; making a new one');
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const now = new Date();
  // Loaded only when a certificate has to be made: it is large and most starts do not need it.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 86_400_000),
    notAfterDate: new Date(now.getTime() + 5 * 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: hostname }, { type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  writeFileSync(`${keyFile}.tmp`, pems.private, { mode: 0o600 });
  writeFileSync(`${certFile}.tmp`, pems.cert, { mode: 0o644 });
  renameSync(`${keyFile}.tmp`, keyFile);
  renameSync(`${certFile}.tmp`, certFile);
  log.info({ event: 'certificate', file: certFile, fingerprint: pems.fingerprint },
    'made a self-signed RSA certificate for the listeners; configure tls.cert and tls.key to use your own');
  return { cert: pems.cert, key: pems.private, source: certFile };
}

/** TLS options of one listener. Weak protocol versions are scoped to this listener only. */
export function listenerTlsOptions(l: ListenerConfig, pair: CertificatePair): {
  key: string; cert: string; minVersion: ListenerConfig['minTlsVersion']; ciphers?: string; honorCipherOrder: boolean;
} {
  const legacy = l.minTlsVersion === 'TLSv1' || l.minTlsVersion === 'TLSv1.1';
  return {
    key: pair.key,
    cert: pair.cert,
    minVersion: l.minTlsVersion,
    // OpenSSL 3 refuses TLS 1.0/1.1 handshakes at the default security level 1:
    // SHA-1 signatures are not allowed there. Level 0 is needed for those versions.
    ...(legacy ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
    honorCipherOrder: true,
  };
}
