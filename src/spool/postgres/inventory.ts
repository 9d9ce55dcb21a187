/** The device inventory in PostgreSQL: per device and client address, what it did and how. */
import type { DeviceActivity, DeviceSeen } from '../store.js';
import type { Queryable } from './db.js';

/**
 * Adds activity rows (counters add up, last seen moves forward, a known
 * detail is replaced only by a newer one). Rows are applied in (device,
 * address) order, so concurrent writers lock them in the same order; each
 * pair appears once per call.
 */
export async function upsertDeviceActivity(q: Queryable, rows: DeviceActivity[]): Promise<void> {
  if (rows.length === 0) return;
  const sorted = [...rows].sort((a, b) => cmp(a.device, b.device) || cmp(a.clientIp, b.clientIp));
  await q.query(`INSERT INTO devices_seen (device, client_ip, last_seen, auth_mechanism, tls_version, listener, accepted, rejected)
      SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[])
      ON CONFLICT (device, client_ip) DO UPDATE SET last_seen = GREATEST(devices_seen.last_seen, EXCLUDED.last_seen),
        auth_mechanism = COALESCE(EXCLUDED.auth_mechanism, devices_seen.auth_mechanism),
        tls_version = COALESCE(EXCLUDED.tls_version, devices_seen.tls_version),
        listener = COALESCE(EXCLUDED.listener, devices_seen.listener),
        accepted = devices_seen.accepted + EXCLUDED.accepted, rejected = devices_seen.rejected + EXCLUDED.rejected`, [
    sorted.map((a) => a.device), sorted.map((a) => a.clientIp), sorted.map((a) => a.at),
    sorted.map((a) => a.authMechanism ?? null), sorted.map((a) => a.tlsVersion ?? null), sorted.map((a) => a.listener ?? null),
    sorted.map((a) => a.accepted ?? 0), sorted.map((a) => a.rejected ?? 0),
  ]);
}

/** Folds activity of the same device and address into one row (later details win, counters add up). */
export function mergeActivity(rows: DeviceActivity[]): DeviceActivity[] {
  const by = new Map<string, DeviceActivity>();
  for (const a of rows) {
    const key = `${a.device}\u0000${a.clientIp}`;
    const prev = by.get(key);
    if (!prev) {
      by.set(key, { ...a });
      continue;
    }
    prev.at = Math.max(prev.at, a.at);
    prev.accepted = (prev.accepted ?? 0) + (a.accepted ?? 0);
    prev.rejected = (prev.rejected ?? 0) + (a.rejected ?? 0);
    if (a.authMechanism !== undefined) prev.authMechanism = a.authMechanism;
    if (a.tlsVersion !== undefined) prev.tlsVersion = a.tlsVersion;
    if (a.listener !== undefined) prev.listener = a.listener;
  }
  return [...by.values()];
}

export async function recordDeviceFailure(q: Queryable, device: string, clientIp: string): Promise<void> {
  await q.query('UPDATE devices_seen SET failed = failed + 1 WHERE device = $1 AND client_ip = $2', [device, clientIp]);
}

export async function devicesSeen(q: Queryable): Promise<DeviceSeen[]> {
  const r = await q.query<{
    device: string; client_ip: string; last_seen: number; auth_mechanism: string | null; tls_version: string | null;
    listener: string | null; accepted: number; rejected: number; failed: number;
  }>('SELECT * FROM devices_seen ORDER BY device, client_ip');
  return r.rows.map((row) => ({
    device: row.device, clientIp: row.client_ip, lastSeen: row.last_seen, authMechanism: row.auth_mechanism,
    tlsVersion: row.tls_version, listener: row.listener, accepted: row.accepted, rejected: row.rejected, failed: row.failed,
  }));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
