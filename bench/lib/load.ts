/**
 * Load generation with Postfix's smtp-source: N messages over S parallel
 * sessions, one new connection per message (as devices do), or with `reuse`
 * several messages per connection (smtp-source -d: each session keeps its
 * connection and sends MAIL, RCPT, DATA again until the N messages are sent),
 * to 127.0.0.1 (or to the host of a relay given with --peer).
 */
import { LOOPBACK, exec } from './proc.js';

export const SMTP_SOURCE = '/usr/sbin/smtp-source';
export const FROM = 'device@legacy.example';
export const TO = 'user@contoso.example';

export interface LoadSpec {
  sessions: number;
  messages: number;
  /** Body size in bytes (smtp-source -l; headers come on top). */
  size: number;
  timeoutMs: number;
  /** Several messages per connection (smtp-source -d) instead of one connection per message. */
  reuse?: boolean;
  /** Send this pre-formatted message (header and body, LF line ends; smtp-source -F) instead of one of `size`. */
  file?: string;
  /** Envelope sender and From address (default FROM). */
  from?: string;
}

export interface LoadResult {
  /** Wall time of smtp-source: first connection to last 250 and QUIT. */
  ms: number;
  msgPerSec: number;
}

/** The command line, for reports. */
export function smtpSourceArgs(port: number, s: Pick<LoadSpec, 'sessions' | 'messages' | 'size' | 'reuse' | 'file' | 'from'>, host = LOOPBACK): string[] {
  return [
    ...(s.reuse ? ['-d'] : []), '-s', String(s.sessions), '-m', String(s.messages), ...(s.file ? ['-F', s.file] : ['-l', String(s.size)]),
    '-f', s.from ?? FROM, '-t', TO, `${host.includes(':') ? `[${host}]` : host}:${port}`,
  ];
}

/** Runs smtp-source; rejects if it fails (it exits non-zero on any refused message or broken session). */
export async function smtpSource(port: number, spec: LoadSpec, host = LOOPBACK): Promise<LoadResult> {
  const args = smtpSourceArgs(port, spec, host);
  const r = await exec(SMTP_SOURCE, args, { timeoutMs: spec.timeoutMs });
  if (r.timedOut) throw new Error(`smtp-source ${args.join(' ')} did not finish within ${spec.timeoutMs} ms`);
  if (r.code !== 0) {
    throw new Error(`smtp-source ${args.join(' ')} exited ${r.code ?? r.signal}: ${(r.stderr + r.stdout).trim().slice(-2000)}`);
  }
  return { ms: r.ms, msgPerSec: spec.messages / (r.ms / 1000) };
}
