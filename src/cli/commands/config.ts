/** `authrelay config check|print|schema`. */
import { configJsonSchema } from '../../config/load.js';
import { REDACT_PATHS, redactUrl } from '../../core/log.js';
import { loadConfig, printJson, say, UsageError } from '../common.js';
import { CLI_TEXT as T, usage } from '../texts.js';

const SECRET_KEYS = new Set(REDACT_PATHS.filter((p) => !p.includes('.')));
/** Values that are URLs and may carry a user and password (an outbound proxy, the PostgreSQL store). */
const URL_KEYS = new Set(['proxy', 'url']);

export function configCommand(sub: string | undefined, flags: { config?: string | undefined }): void {
  switch (sub) {
    case 'check': {
      const { config, source } = loadConfig(flags.config);
      say(T.configValid, {
        source, listeners: config.listeners.length, devices: config.devices.length, upstreams: Object.keys(config.upstreams).length, routes: config.routes.length,
      });
      if (Object.keys(config.upstreams).length === 0) say(T.configNoUpstream);
      return;
    }
    case 'print': {
      const { config } = loadConfig(flags.config);
      printJson(redact(config));
      return;
    }
    case 'schema':
      printJson(configJsonSchema());
      return;
    default:
      throw new UsageError(usage('authrelay config check|print|schema [--config FILE]'));
  }
}

/** Keys whose every value is a secret (header values can hold a bearer token or a password). */
const SECRET_MAPS = new Set(['headers']);

export function redact(value: unknown, key?: string): unknown {
  if (key !== undefined && SECRET_KEYS.has(key) && value !== undefined) return '[redacted]';
  if (key !== undefined && SECRET_MAPS.has(key) && value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).map((k) => [k, '[redacted]']));
  }
  if (key !== undefined && URL_KEYS.has(key) && typeof value === 'string') return redactUrl(value);
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  return value;
}
