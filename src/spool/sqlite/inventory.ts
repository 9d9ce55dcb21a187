/** The device inventory in SQLite: per device and client address, what it did and how. */
import type Database from 'better-sqlite3';
import type { DeviceActivity, DeviceSeen } from '../store.js';

/** The store's cached statement getter. */
type Statements = (sql: string) => Database.Statement;

export function upsertDeviceActivity(q: Statements, a: DeviceActivity): void {
  q(`INSERT INTO devices_seen (device, client_ip, last_seen, auth_mechanism, tls_version, listener, accepted, rejected)
      VALUES (@device, @ip, @at, @auth, @tls, @listener, @acc, @rej)
      ON CONFLICT (device, client_ip) DO UPDATE SET last_seen = MAX(last_seen, @at),
        auth_mechanism = COALESCE(@auth, auth_mechanism), tls_version = COALESCE(@tls, tls_version),
        listener = COALESCE(@listener, listener), accepted = accepted + @acc, rejected = rejected + @rej`)
    .run({ device: a.device, ip: a.clientIp, at: a.at, auth: a.authMechanism ?? null, tls: a.tlsVersion ?? null,
      listener: a.listener ?? null, acc: a.accepted ?? 0, rej: a.rejected ?? 0 });
}

export function recordDeviceFailure(q: Statements, device: string, clientIp: string): void {
  q(`UPDATE devices_seen SET failed = failed + 1 WHERE device = ? AND client_ip = ?`).run(device, clientIp);
}

export function devicesSeen(q: Statements): DeviceSeen[] {
  const rows = q('SELECT * FROM devices_seen ORDER BY device, client_ip').all() as {
    device: string; client_ip: string; last_seen: number; auth_mechanism: string | null; tls_version: string | null;
    listener: string | null; accepted: number; rejected: number; failed: number;
  }[];
  return rows.map((r) => ({
    device: r.device, clientIp: r.client_ip, lastSeen: r.last_seen, authMechanism: r.auth_mechanism,
    tlsVersion: r.tls_version, listener: r.listener, accepted: r.accepted, rejected: r.rejected, failed: r.failed,
  }));
}
