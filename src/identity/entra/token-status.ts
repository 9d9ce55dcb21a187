/**
 * What the running relay knows about each Microsoft upstream's sign-in, kept
 * in dataDir/tokens/<upstream>.status.json so `authrelay oauth status` (a
 * separate process) can show it: the credential, when the cached token
 * expires, when the last token came, and the last error. Never a token.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './secret-key.js';
import type { TokenError } from './token-provider.js';

export interface TokenStatus {
  upstream: string;
  credential: string;
  description: string;
  expiresAt?: string;
  lastTokenAt?: string;
  lastError?: { at: string; message: string; error?: string; aadsts?: number; status?: number; networkCode?: string };
}

export function statusFile(dataDir: string, upstream: string): string {
  return join(dataDir, 'tokens', `${upstream.replace(/[^A-Za-z0-9._-]/g, '_')}.status.json`);
}

export function readTokenStatus(dataDir: string, upstream: string): TokenStatus | undefined {
  try {
    return JSON.parse(readFileSync(statusFile(dataDir, upstream), 'utf8')) as TokenStatus;
  } catch {
    return undefined;
  }
}

/** Records a result; failures to write are logged by the caller, never fatal for delivery. */
export function recordTokenResult(
  dataDir: string,
  base: Pick<TokenStatus, 'upstream' | 'credential' | 'description'>,
  result: { expiresAt: number } | { error: TokenError },
): void {
  const previous = readTokenStatus(dataDir, base.upstream);
  const now = new Date().toISOString();
  const next: TokenStatus = { ...(previous ?? {}), ...base };
  if ('expiresAt' in result) {
    next.expiresAt = new Date(result.expiresAt).toISOString();
    next.lastTokenAt = now;
  } else {
    const d = result.error.details;
    next.lastError = {
      at: now,
      message: result.error.message,
      ...(d.error ? { error: d.error } : {}),
      ...(d.aadsts !== undefined ? { aadsts: d.aadsts } : {}),
      ...(d.status !== undefined ? { status: d.status } : {}),
      ...(d.networkCode ? { networkCode: d.networkCode } : {}),
    };
  }
  writeFileAtomic(statusFile(dataDir, base.upstream), `${JSON.stringify(next, null, 2)}\n`);
}
