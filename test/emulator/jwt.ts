/**
 * JSON Web Tokens as the emulator needs them: minting RS256 access and ID
 * tokens with its signing key, verifying its own tokens (Graph and SMTP
 * check signature, expiry and audience), and verifying client assertions
 * against an app's registered certificates (PS256 with x5t#S256, RS256 with
 * x5t), as Entra does for certificate credentials.
 */
import { X509Certificate, createHash, createPublicKey, constants, sign, verify, type KeyObject } from 'node:crypto';

export type Claims = Record<string, unknown>;

export function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export function signJwt(claims: Claims, key: KeyObject, kid: string): string {
  const header = { typ: 'JWT', alg: 'RS256', x5t: kid, kid };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = sign('sha256', Buffer.from(input), key);
  return `${input}.${b64url(sig)}`;
}

export interface ParsedJwt {
  header: Claims;
  payload: Claims;
  input: Buffer;
  signature: Buffer;
}

export function parseJwt(token: string): ParsedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as unknown;
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
    if (!isObject(header) || !isObject(payload)) return undefined;
    return { header, payload, input: Buffer.from(`${parts[0]}.${parts[1]}`), signature: Buffer.from(parts[2]!, 'base64url') };
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Claims {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Why one of our own tokens is not acceptable, or its claims. */
export type TokenCheck = { ok: true; claims: Claims } | { ok: false; reason: 'malformed' | 'signature' | 'expired' | 'audience' };

export function verifyOwnToken(token: string, publicKey: KeyObject, audiences: string[], now = Date.now()): TokenCheck {
  const jwt = parseJwt(token);
  if (!jwt || jwt.header.alg !== 'RS256') return { ok: false, reason: 'malformed' };
  if (!verify('sha256', jwt.input, publicKey, jwt.signature)) return { ok: false, reason: 'signature' };
  const exp = jwt.payload.exp;
  if (typeof exp !== 'number' || exp * 1000 <= now) return { ok: false, reason: 'expired' };
  if (typeof jwt.payload.aud !== 'string' || !audiences.includes(jwt.payload.aud)) return { ok: false, reason: 'audience' };
  return { ok: true, claims: jwt.payload };
}

/** Outcome of a client assertion check: the AADSTS code and description on failure. */
export type AssertionCheck = { ok: true } | { ok: false; code: number; description: string };

/**
 * Verifies a client assertion (RFC 7523) for `clientId` against `certificates`.
 * `audiences` are the token endpoint URLs Entra accepts (tenant id and domain forms).
 */
export function verifyClientAssertion(assertion: string, clientId: string, certificates: string[], audiences: string[], now = Date.now()): AssertionCheck {
  const jwt = parseJwt(assertion);
  if (!jwt) return { ok: false, code: 50027, description: 'JWT token is invalid or malformed.' };
  const alg = jwt.header.alg;
  const certs = certificates.map((pem) => new X509Certificate(pem));
  let cert: X509Certificate | undefined;
  if (typeof jwt.header['x5t#S256'] === 'string') {
    cert = certs.find((c) => createHash('sha256').update(c.raw).digest('base64url') === jwt.header['x5t#S256']);
  } else if (typeof jwt.header.x5t === 'string') {
    cert = certs.find((c) => createHash('sha1').update(c.raw).digest('base64url') === jwt.header.x5t);
  } else {
    return { ok: false, code: 700027, description: 'Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: \'\']' };
  }
  if (!cert) {
    const thumb = String(jwt.header['x5t#S256'] ?? jwt.header.x5t);
    return { ok: false, code: 700027, description: `Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '${thumb}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'.]` };
  }
  const key = createPublicKey(cert.publicKey.export({ type: 'spki', format: 'pem' }));
  let good = false;
  if (alg === 'PS256') {
    good = verify('sha256', jwt.input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, jwt.signature);
  } else if (alg === 'RS256') {
    good = verify('sha256', jwt.input, key, jwt.signature);
  }
  if (!good) return { ok: false, code: 700027, description: 'Client assertion failed signature validation.' };
  const p = jwt.payload;
  if (p.iss !== clientId || p.sub !== clientId) {
    return { ok: false, code: 700021, description: 'Client assertion application identifier doesn\'t match \'client_id\' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .' };
  }
  if (typeof p.aud !== 'string' || !audiences.includes(p.aud)) {
    return { ok: false, code: 700212, description: `No matching federated identity record found for presented assertion audience '${String(p.aud)}'.` };
  }
  const sec = Math.floor(now / 1000);
  const skew = 300;
  if (typeof p.exp !== 'number' || p.exp + skew < sec || (typeof p.nbf === 'number' && p.nbf - skew > sec)) {
    return { ok: false, code: 700024, description: 'Client assertion is not within its valid time range.' };
  }
  return { ok: true };
}
