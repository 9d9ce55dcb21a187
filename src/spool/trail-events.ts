/**
 * The trail entries both stores write when a message is accepted or routed:
 * the English text, and the facts it was made from (kept in the entry's data,
 * so the trail can be shown in another language from the same facts).
 */
import type { NewMessage } from './store.js';

export interface TrailEntry {
  text: string;
  data: Record<string, unknown>;
}

export function receivedEvent(m: NewMessage, splitFrom?: string): TrailEntry {
  const o = m.origin;
  const how = [o.tlsVersion ? `over ${o.tlsVersion}` : 'without TLS', o.authUser ? `as ${o.authUser} (${o.authMechanism})` : 'without AUTH'];
  const text = `received ${m.size} bytes from ${o.device ?? 'relay'} at ${o.clientIp} on listener ${o.listener} ${how.join(' ')}` +
    (m.configVersion ? ` under configuration ${m.configVersion}` : '') + (splitFrom ? `; split from ${splitFrom}` : '');
  return {
    text,
    data: {
      notes: m.notes ?? [], size: m.size, device: o.device, clientIp: o.clientIp, listener: o.listener,
      tlsVersion: o.tlsVersion ?? null, authUser: o.authUser ?? null, authMechanism: o.authMechanism ?? null,
      ...(m.configVersion ? { configVersion: m.configVersion } : {}), ...(splitFrom ? { splitFrom } : {}),
    },
  };
}

export function routedEvent(route: string, recipients: string[], rule?: string): TrailEntry {
  return { text: `routed to ${route}${rule ? ` (${rule})` : ''}: ${recipients.join(', ')}`, data: { route, recipients, ...(rule ? { rule } : {}) } };
}
