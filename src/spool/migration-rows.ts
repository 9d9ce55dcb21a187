/**
 * What both stores' migration queries share: the "seen at authrelay" answer
 * built from the same grouped rows (mailbox, device, first and last time,
 * messages), one entry per mailbox with its devices, latest first; and the
 * latest basic-auth use of a sender from its latest exact sign-in and its
 * latest report day.
 */
import type { MailboxSeen, SenderHistory } from './migration-records.js';

export interface SeenRow {
  mailbox: string;
  device: string | null;
  first_seen: number;
  last_seen: number;
  n: number;
}

export function foldSeen(rows: SeenRow[]): MailboxSeen[] {
  const by = new Map<string, MailboxSeen & { lastByDevice: Map<string, number> }>();
  for (const r of rows) {
    const e = by.get(r.mailbox) ?? { mailbox: r.mailbox, firstSeen: r.first_seen, lastSeen: r.last_seen, messages: 0, devices: [], lastByDevice: new Map() };
    e.firstSeen = Math.min(e.firstSeen, Number(r.first_seen));
    e.lastSeen = Math.max(e.lastSeen, Number(r.last_seen));
    e.messages += Number(r.n);
    if (r.device) e.lastByDevice.set(r.device, Number(r.last_seen));
    by.set(r.mailbox, e);
  }
  return [...by.values()]
    .map(({ lastByDevice, ...e }) => ({ ...e, devices: [...lastByDevice.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([d]) => d) }))
    .sort((a, b) => (a.mailbox < b.mailbox ? -1 : a.mailbox > b.mailbox ? 1 : 0));
}

/** The later of the latest exact sign-in and the latest report day (a day counts from its start). */
export function latestUse(maxTime: number | null, maxDay: number | null): Pick<SenderHistory, 'lastBasicAuth' | 'lastBasicAuthPrecision'> {
  if (maxTime !== null) maxTime = Number(maxTime);
  if (maxDay !== null) maxDay = Number(maxDay);
  if (maxTime === null && maxDay === null) return { lastBasicAuth: null, lastBasicAuthPrecision: null };
  if (maxDay === null || (maxTime !== null && maxTime >= maxDay)) return { lastBasicAuth: maxTime, lastBasicAuthPrecision: 'time' };
  return { lastBasicAuth: maxDay, lastBasicAuthPrecision: 'day' };
}
