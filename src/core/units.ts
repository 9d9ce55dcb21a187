/** Parsing of human-written durations and sizes used throughout the config. */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30s" → 30000. Returns undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = (m[2] ?? 's').toLowerCase();
  return Math.round(Number(m[1]) * (DURATION_UNITS[unit] ?? 1000));
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** "25MB" → 26214400. Returns undefined when the text is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|k|m|g)?\s*$/i.exec(text);
  if (!m) return undefined;
  let unit = (m[2] ?? 'b').toLowerCase();
  if (unit.length === 1 && unit !== 'b') unit += 'b';
  return Math.round(Number(m[1]) * (SIZE_UNITS[unit] ?? 1));
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}
