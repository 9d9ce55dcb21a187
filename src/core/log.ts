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

export type LogFormat = 'json' | 'pretty';

/**
 * The relay's logger: JSON lines (one object per event), or on a terminal one
 * readable line per event (pino-pretty in a worker thread, so formatting never
 * costs the main thread). `destination` (tests) always gets JSON.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream, format: LogFormat = 'json'): Logger {
  if (format === 'pretty' && !destination) {
    return pino({
      level,
      base: { service: 'authrelay' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service', hideObject: true, destination: 1, sync: false },
      },
    });
  }
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

/**
 * The logger for the lines that say where the relay listens: they are info, and
 * they show at every level short of silent (supervisors, scripts and people wait
 * for them, also with log.level warn).
 */
export function announcer(log: Logger): Logger {
  if (log.isLevelEnabled('info') || log.level === 'silent') return log;
  return log.child({}, { level: 'info' });
}
