/**
 * Watching a device connect: what each SMTP session does, as it happens
 * (connect, TLS version and cipher, EHLO name, AUTH mechanism and result,
 * each command and its reply, why a message was refused and what to do),
 * kept for the last sessions of every device and of addresses that are not a
 * known device. The person at the printer presses "send" and the console (or
 * `authrelay device watch`) shows why it failed.
 *
 * A session belongs to a device from the moment it is known: its trusted
 * network at connect, the user name at AUTH (even a failed one), or else the
 * device last seen at that address. Until then, and when it never becomes
 * known, it is kept under its address. Passwords never reach this module:
 * the receive stage hands over AUTH commands without their arguments.
 * Memory is bounded: a few sessions per device, a bounded number of
 * addresses (the oldest dropped first), a bounded number of events per
 * session.
 */

import type { SessionWatchSink, WatchEvent } from '../core/telemetry.js';
import { watchText } from '../core/watch-texts.js';

export type { WatchEvent } from '../core/telemetry.js';

export interface WatchedSession {
  id: string;
  startedAt: number;
  endedAt?: number;
  clientIp: string;
  listener: string;
  device?: string;
  events: WatchEvent[];
}

const SESSIONS_PER_KEY = 10;
const EVENTS_PER_SESSION = 200;
const ADDRESSES = 500;
const DEVICES = 2_000;

type Listener = (e: WatchEvent, session: WatchedSession) => void;

export class SessionWatch implements SessionWatchSink {
  private readonly live = new Map<string, WatchedSession>();
  /** Finished and live sessions per device (newest last). */
  private readonly byDevice = new Map<string, WatchedSession[]>();
  /** Sessions of addresses that are no known device (newest last), least recently used address first. */
  private readonly byAddress = new Map<string, WatchedSession[]>();
  /** The device last seen at each address (so a session that fails before AUTH is still shown on its device). */
  private readonly lastDeviceAt = new Map<string, string>();
  private readonly listeners = new Map<string, Set<Listener>>();

  begin(session: string, clientIp: string, listener: string, device: string | undefined, at: number): void {
    const s: WatchedSession = { id: session, startedAt: at, clientIp, listener, events: [] };
    this.live.set(session, s);
    const known = device ?? this.lastDeviceAt.get(clientIp);
    if (known) this.attach(s, known);
    else this.keep(this.byAddress, clientIp, s, ADDRESSES);
  }

  identify(session: string, device: string): void {
    const s = this.live.get(session);
    if (!s || s.device === device) return;
    if (!s.device) this.remove(this.byAddress, s.clientIp, s);
    else this.remove(this.byDevice, s.device, s);
    this.attach(s, device);
  }

  event(session: string, e: Omit<WatchEvent, 'session'>): void {
    const s = this.live.get(session);
    if (!s) return;
    const full: WatchEvent = { ...e, session };
    if (s.events.length < EVENTS_PER_SESSION) s.events.push(full);
    else if (s.events.length === EVENTS_PER_SESSION) {
      const more = watchText('more', { n: EVENTS_PER_SESSION });
      s.events.push({ at: e.at, session, kind: 'reply', text: more.en, ja: { text: more.ja } });
    }
    this.emit(s, full);
  }

  end(session: string, at: number): void {
    const s = this.live.get(session);
    if (!s) return;
    const closed = watchText('close');
    this.event(session, { at, kind: 'close', text: closed.en, ja: { text: closed.ja } });
    s.endedAt = at;
    this.live.delete(session);
  }

  /** The last sessions of a device (oldest first). */
  sessionsOf(device: string): WatchedSession[] {
    return [...(this.byDevice.get(device) ?? [])];
  }

  /** The last sessions of addresses that are no known device, newest address last. */
  unknownSessions(): WatchedSession[] {
    return [...this.byAddress.values()].flat().sort((a, b) => a.startedAt - b.startedAt);
  }

  /**
   * Calls fn for every new event of a device's sessions (`*unknown` for the
   * addresses that are no known device) until the returned function is called.
   */
  subscribe(target: string, fn: Listener): () => void {
    let set = this.listeners.get(target);
    if (!set) this.listeners.set(target, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(target);
    };
  }

  /** How many devices and addresses are kept (tests check that it stays bounded). */
  size(): { devices: number; addresses: number; live: number } {
    return { devices: this.byDevice.size, addresses: this.byAddress.size, live: this.live.size };
  }

  private attach(s: WatchedSession, device: string): void {
    s.device = device;
    this.lastDeviceAt.delete(s.clientIp);
    this.lastDeviceAt.set(s.clientIp, device);
    if (this.lastDeviceAt.size > ADDRESSES) this.lastDeviceAt.delete(this.lastDeviceAt.keys().next().value!);
    this.keep(this.byDevice, device, s, DEVICES);
    // A watcher of the device sees the session from its start, whatever was said before it was known.
    for (const e of s.events) for (const fn of this.listeners.get(device) ?? []) fn(e, s);
  }

  private keep(map: Map<string, WatchedSession[]>, key: string, s: WatchedSession, maxKeys: number): void {
    const list = map.get(key) ?? [];
    map.delete(key);
    list.push(s);
    if (list.length > SESSIONS_PER_KEY) list.splice(0, list.length - SESSIONS_PER_KEY);
    map.set(key, list);
    if (map.size > maxKeys) map.delete(map.keys().next().value!);
  }

  private remove(map: Map<string, WatchedSession[]>, key: string, s: WatchedSession): void {
    const list = map.get(key);
    if (!list) return;
    const i = list.indexOf(s);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) map.delete(key);
  }

  private emit(s: WatchedSession, e: WatchEvent): void {
    const fns = this.listeners.get(s.device ?? '*unknown');
    if (!fns) return;
    for (const fn of fns) {
      try {
        fn(e, s);
      } catch {
        // A watcher that fails never disturbs the session.
      }
    }
  }
}
