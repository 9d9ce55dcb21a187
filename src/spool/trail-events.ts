/**
 * The trail entries the stores write (a message accepted, routed, split,
 * attempted, queued again, released, routed again): the English line, and the
 * facts it was made from with the text's key (`data.say`, see
 * core/trail-texts.ts), so a face can show the trail in English or Japanese
 * from the same facts.
 */
import { renderSay, say, type Actor, type Say, type SayValue } from '../core/trail-texts.js';
import type { NewMessage } from './store.js';

export interface TrailEntry {
  text: string;
  data: Record<string, unknown>;
}

/** An entry from its text and facts: the English line, and the facts with the key and values under `say`. */
export function entryOf(s: Say, facts: Record<string, unknown> = {}): TrailEntry {
  return { text: renderSay(s, 'en'), data: { ...facts, say: s } };
}

export function receivedEvent(m: NewMessage, splitFrom?: string): TrailEntry {
  const o = m.origin;
  const s = say('received', {
    size: m.size, device: o.device ?? say('received.relay'), clientIp: o.clientIp, listener: o.listener,
    tls: o.tlsVersion ? say('received.tls', { version: o.tlsVersion }) : say('received.noTls'),
    auth: o.authUser ? say('received.auth', { user: o.authUser, mechanism: o.authMechanism ?? '' }) : say('received.noAuth'),
    config: m.configVersion ? say('received.config', { version: m.configVersion }) : '',
    split: splitFrom ? say('received.split', { id: splitFrom }) : '',
  });
  return entryOf(s, {
    notes: m.notes ?? [], size: m.size, device: o.device, clientIp: o.clientIp, listener: o.listener,
    tlsVersion: o.tlsVersion ?? null, authUser: o.authUser ?? null, authMechanism: o.authMechanism ?? null,
    ...(m.configVersion ? { configVersion: m.configVersion } : {}), ...(splitFrom ? { splitFrom } : {}),
    ...(m.notesSaid?.length ? { notesSaid: m.notesSaid } : {}),
  });
}

/**
 * The rule that chose a route, as the router names it: "device mfp-3f", "no rule
 * matched" (route/rules.ts), "the only upstream" or "embedded default" (the
 * routes in effect without configured ones, root/snapshot.ts), a rule's name
 * or routes[i].
 */
function ruleSay(rule: string | undefined): SayValue {
  if (!rule) return '';
  const device = /^device (.+)$/.exec(rule);
  if (device) return say('routed.ruleDevice', { device: device[1]! });
  if (rule === 'no rule matched') return say('routed.ruleNone');
  if (rule === 'the only upstream') return say('routed.ruleOnly');
  if (rule === 'embedded default') return say('routed.ruleDefault');
  return say('routed.rule', { rule });
}

export function routedEvent(route: string, recipients: string[], rule?: string): TrailEntry {
  return entryOf(say('routed', { route, rule: ruleSay(rule), recipients: recipients.join(', ') }), { route, recipients, ...(rule ? { rule } : {}) });
}

export function splitEvent(from: string, recipients: number, route: string): TrailEntry {
  return entryOf(say('split', { id: from, n: recipients, route }), { from, route });
}

/** Who or what did it, in English (the facts keep the English; the line itself is rendered from `say`). */
function byEn(by: Actor): string {
  return typeof by === 'string' ? by : renderSay(by, 'en');
}

export function rerouteEvent(by: Actor): TrailEntry {
  return entryOf(say('reroute', { reason: by }), { by: byEn(by) });
}

export function retryEvent(by: Actor): TrailEntry {
  return entryOf(say('retry', { by }), { by: byEn(by) });
}

export function releaseEvent(by: Actor): TrailEntry {
  return entryOf(say('release', { by }), { by: byEn(by) });
}
