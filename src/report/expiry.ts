/**
 * Dates when credentials stop working: the listeners' TLS certificate, the
 * certificate credentials of Microsoft 365 upstreams (PEM notAfter), and
 * client secrets whose expiry date the administrator wrote into the config
 * (Entra ID shows it when the secret is made; a token does not carry it).
 * Only names, files and dates are returned, never key material.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { Config } from '../config/schema.js';

export interface ExpiryItem {
  kind: 'certificate' | 'client-secret';
  /** What it belongs to, e.g. "listeners (data/tls/self-signed.crt)" or "upstream m365". */
  name: string;
  expiresAt: number;
}

export interface ExpirySources {
  /** The certificate the listeners serve (PEM text) and where it came from. */
  listener?: { pem: string; source: string };
  /** Certificate files to read at each check (a renewed file is seen without a restart). */
  files: { name: string; file: string }[];
  /** Client secret expiry dates by upstream name (ISO dates). */
  secrets: Readonly<Record<string, string>>;
}

/** Everything in the config that can expire. */
export function expirySources(config: Config, listener?: { pem: string; source: string }): ExpirySources {
  const files: ExpirySources['files'] = [];
  config.listeners.forEach((l, i) => {
    if (l.cert) files.push({ name: `listener ${l.name ?? i} (${l.cert})`, file: l.cert });
  });
  for (const [name, u] of Object.entries(config.upstreams)) {
    if ((u.type === 'graph' || u.type === 'smtp-oauth') && u.certificate) files.push({ name: `upstream ${name} certificate (${u.certificate.cert})`, file: u.certificate.cert });
    if (u.type === 'smtp' && u.clientCert) files.push({ name: `upstream ${name} client certificate (${u.clientCert.cert})`, file: u.clientCert.cert });
  }
  return { ...(listener ? { listener } : {}), files, secrets: config.alerts.secretExpires };
}

/** The expiry dates known now; a file that cannot be read is reported in `unreadable`. */
export function expiries(src: ExpirySources): { items: ExpiryItem[]; unreadable: string[] } {
  const items: ExpiryItem[] = [];
  const unreadable: string[] = [];
  if (src.listener) {
    const at = notAfter(src.listener.pem);
    if (at !== undefined) items.push({ kind: 'certificate', name: `listeners (${src.listener.source})`, expiresAt: at });
  }
  for (const f of src.files) {
    let at: number | undefined;
    try {
      at = notAfter(readFileSync(f.file, 'utf8'));
    } catch {
      at = undefined;
    }
    if (at === undefined) unreadable.push(f.name);
    else items.push({ kind: 'certificate', name: f.name, expiresAt: at });
  }
  for (const [upstream, date] of Object.entries(src.secrets)) {
    items.push({ kind: 'client-secret', name: `upstream ${upstream} client secret`, expiresAt: Date.parse(date) });
  }
  return { items, unreadable };
}

/** notAfter of the first certificate in a PEM text. */
export function notAfter(pem: string): number | undefined {
  try {
    const ms = Date.parse(new X509Certificate(pem).validTo);
    return Number.isNaN(ms) ? undefined : ms;
  } catch {
    return undefined;
  }
}
