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
  '*.password',
  '*.pass',
  '*.passwordHash',
  '*.secret',
  '*.clientSecret',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.authorization',
  '*.*.pass',
  '*.*.password',
  '*.*.clientSecret',
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
