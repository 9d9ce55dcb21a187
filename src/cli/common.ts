/** Shared helpers of the command-line faces: config location, output, errors. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfigFile, ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';

export class UsageError extends Error {}

/** --config, then $AUTHRELAY_CONFIG, then ./authrelay.yaml if present; else the embedded default. */
export function configPath(flag: string | undefined): string | undefined {
  if (flag) return resolve(flag);
  if (process.env.AUTHRELAY_CONFIG) return resolve(process.env.AUTHRELAY_CONFIG);
  return existsSync('authrelay.yaml') ? resolve('authrelay.yaml') : undefined;
}

export function loadConfig(flag: string | undefined): { config: Config; source: string; file: string | undefined } {
  const file = configPath(flag);
  const { config, source } = loadConfigFile(file, { env: process.env });
  return { config, source, file };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function fail(message: string, code = 1): never {
  process.stderr.write(`authrelay: ${message}\n`);
  process.exit(code);
}

export function describeError(err: unknown): string {
  if (err instanceof ConfigError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function formatTime(ms: number | null | undefined): string {
  return ms ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
