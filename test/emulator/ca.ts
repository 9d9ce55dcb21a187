/**
 * The emulator's own test CA and the server certificate it signs for
 * 127.0.0.1, localhost and ::1 (HTTPS and SMTP STARTTLS use it), plus the
 * key pair that signs access tokens (published in the JWKS with its
 * certificate, as Entra publishes x5c). Made fresh at every start; the CA is
 * also written to a temporary file for clients that take a CA path.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate, createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import selfsigned from 'selfsigned';

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

export async function makeCertificates(dir: string): Promise<EmulatorCertificates> {
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
        { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
        { name: 'extKeyUsage', serverAuth: true },
      ],
    }),
    selfsigned.generate([{ name: 'commonName', value: 'accounts.accesscontrol.windows.net' }], { algorithm: 'sha256', keySize: 2048 }),
  ]);
  const caFile = join(dir, 'emulator-ca.pem');
  writeFileSync(caFile, ca.cert);
  const der = new X509Certificate(signer.cert).raw;
  // Entra's kid is the base64url SHA-1 thumbprint of the signing certificate (same as x5t).
  const kid = createHash('sha1').update(der).digest('base64url');
  return { caPem: ca.cert, caFile, cert: leaf.cert, key: leaf.private, signingKey: createPrivateKey(signer.private), signingCert: signer.cert, kid };
}
