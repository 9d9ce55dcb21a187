/** Structured JSON logging (pino). Secrets are redacted by path, wherever they appear. */
import { pino, type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'password',
  'pass',
  'passwordHash',
  'secret',
  'clientSecret',
  'token',
  'accessToken',
  'refreshToken',
  'authorization',
  'secretKey',
  'passphrase',
  '*.password',
  '*.pass',
  '*.passwordHash',
  '*.secret',
  '*.clientSecret',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.authorization',
  '*.secretKey',
  '*.passphrase',
  '*.*.pass',
  '*.*.password',
  '*.*.clientSecret',
  '*.*.passphrase',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'authrelay' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * A URL fit for a log line or a trace: a user and password in it and the
 * credentials some URLs carry in their query (an upload session's
 * `authtoken`, a SAS `sig`, an `access_token`) are replaced by "…".
 */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1…@')
    .replace(/([?&](?:authtoken|access_token|token|sig|code|client_secret|password)=)[^&#]*/gi, '$1…');
}
