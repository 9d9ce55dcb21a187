/**
 * The emulator's own test CA and the server certificate it signs for
 * 127.0.0.1, localhost and ::1 (HTTPS and SMTP STARTTLS use it), plus the
 * key pair that signs access tokens (published in the JWKS with its
 * certificate, as Entra publishes x5c). Made fresh at every start; the CA is
 * also written to a file for clients that take a CA path. The
 * server certificate also names Microsoft's sign-in and Graph hosts, for
 * clients that reach the emulator through its forward proxy (forward-proxy.ts).
 * With `keepIn`, all of it is kept in that directory (and the CA file written
 * there) and reused on later starts until it nears expiry, so a client
 * started once keeps trusting the CA and the tokens it was given.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate, createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import selfsigned from 'selfsigned';
import { PROXIED_HOSTS } from './forward-proxy.js';

export interface EmulatorCertificates {
  caPem: string;
  caFile: string;
  /** Server certificate (PEM) and its key, signed by the CA. */
  cert: string;
  key: string;
  /** Token-signing key, its certificate (for x5c) and key id. */
  signingKey: KeyObject;
  signingCert: string;
  kid: string;
}

/** What is kept between starts (PEM texts); `version` changes when the certificates' contents do. */
interface KeptCertificates {
  version: number;
  caPem: string;
  cert: string;
  key: string;
  signingKey: string;
  signingCert: string;
}

const KEPT_VERSION = 1;

export async function makeCertificates(dir: string, keepIn?: string): Promise<EmulatorCertificates> {
  const keptFile = keepIn ? join(keepIn, 'emulator-certificates.json') : undefined;
  let pems: KeptCertificates | undefined;
  if (keptFile && existsSync(keptFile)) {
    const kept = JSON.parse(readFileSync(keptFile, 'utf8')) as KeptCertificates;
    const days = (new Date(new X509Certificate(kept.cert).validTo).getTime() - Date.now()) / 86_400_000;
    if (kept.version === KEPT_VERSION && days > 7) pems = kept;
  }
  pems ??= await generate();
  if (keepIn && keptFile) {
    mkdirSync(keepIn, { recursive: true, mode: 0o700 });
    writeFileSync(keptFile, JSON.stringify(pems), { mode: 0o600 });
  }
  const caFile = join(keepIn ?? dir, 'emulator-ca.pem');
  writeFileSync(caFile, pems.caPem);
  const der = new X509Certificate(pems.signingCert).raw;
  // Entra's kid is the base64url SHA-1 thumbprint of the signing certificate (same as x5t).
  const kid = createHash('sha1').update(der).digest('base64url');
  return { caPem: pems.caPem, caFile, cert: pems.cert, key: pems.key, signingKey: createPrivateKey(pems.signingKey), signingCert: pems.signingCert, kid };
}

async function generate(): Promise<KeptCertificates> {
  const ca = await selfsigned.generate([{ name: 'commonName', value: 'authrelay Microsoft 365 emulator test CA' }], {
    algorithm: 'sha256',
    keySize: 2048,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const [leaf, signer] = await Promise.all([
    selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
      algorithm: 'sha256',
      keySize: 2048,
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        {
          name: 'subjectAltName',
          altNames: [{ type: 2, value: 'localhost' }, ...PROXIED_HOSTS.map((value) => ({ type: 2 as const, value })), { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }],
        },
        { name: 'extKeyUsage', serverAuth: true },
      ],
    }),
    selfsigned.generate([{ name: 'commonName', value: 'accounts.accesscontrol.windows.net' }], { algorithm: 'sha256', keySize: 2048 }),
  ]);
  return { version: KEPT_VERSION, caPem: ca.cert, cert: leaf.cert, key: leaf.private, signingKey: signer.private, signingCert: signer.cert };
}
