/**
 * The emulator's Entra side as the IMAP/POP tests need it: the Office 365
 * Exchange Online application permissions IMAP.AccessAsApp and
 * POP.AccessAsApp granted to (or withdrawn from) an app, and what a mail
 * server needs to validate the app tokens locally (test/helpers/dovecot.ts):
 * the signing key as a PEM public key with its key id (from the emulator's
 * own JWKS endpoint, as a relying party would read it), the issuer of a
 * tenant's v1 tokens, and the service principal's object id that the
 * tokens carry as `oid` (the id the fix's PowerShell lines name).
 */
import { createPublicKey } from 'node:crypto';
import { request } from 'node:https';
import type { Emulator, EmulatorApp } from './api.js';
import { objectId } from './tokens.js';

export type MailboxRole = 'IMAP.AccessAsApp' | 'POP.AccessAsApp';

/** Grants an Exchange application permission with admin consent (tokens minted from now on carry it). */
export function grantMailboxRole(app: EmulatorApp, role: MailboxRole): void {
  const roles = app.exchangeRoles as string[];
  if (!roles.includes(role)) roles.push(role);
}

/** Withdraws it (tokens minted from now on lack it; tokens already issued keep it until they expire, as in Entra). */
export function withdrawMailboxRole(app: EmulatorApp, role: MailboxRole): void {
  const roles = app.exchangeRoles as string[];
  const i = roles.indexOf(role);
  if (i >= 0) roles.splice(i, 1);
}

/** The issuer of the emulator's v1 access tokens for a tenant. */
export function tokenIssuer(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}/`;
}

/** The app's service principal object id in its tenant (the `oid` of its app tokens). */
export function servicePrincipalId(app: EmulatorApp): string {
  return objectId('sp', app.tenantId, app.clientId);
}

export interface SigningKey {
  kid: string;
  /** SPKI PEM public key. */
  pem: string;
}

/** The token signing key, read from the tenant's JWKS endpoint over HTTPS (trusting the emulator's CA). */
export async function tokenSigningKey(emu: Emulator, tenantId: string): Promise<SigningKey> {
  const url = new URL(`${emu.authorityHost}/${tenantId}/discovery/v2.0/keys`);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(url, { ca: emu.caPem }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`JWKS answered ${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    req.end();
  });
  const jwks = JSON.parse(body) as { keys: { kid: string; kty: string; n: string; e: string }[] };
  const jwk = jwks.keys[0];
  if (!jwk) throw new Error('the emulator published no signing key');
  const pem = createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
  return { kid: jwk.kid, pem };
}
