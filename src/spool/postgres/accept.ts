/**
 * The acceptance commit of the PostgreSQL spool: the messages of one group,
 * their bodies (inline ones inserted, chunked ones taken over from their
 * writer), recipients, first trail events and the device inventory, in a
 * few set-based statements of one transaction.
 */
import { receivedEvent, routedEvent } from '../trail-events.js';
import { decodedSubject } from '../subject-text.js';
import type { DeviceActivity, NewMessage } from '../store.js';
import type { Tx } from './db.js';
import { mergeActivity, upsertDeviceActivity } from './inventory.js';

export interface Accepting {
  message: NewMessage;
  bodyId: string;
  /** The body, when it stayed in memory (written here); undefined when its chunks are stored already. */
  inline: Buffer | undefined;
  /** Chunks stored by the writer (when not inline). */
  chunks: number;
}


/**
 * Inserts a group. Answers the ids of messages left out because their
 * chunked body is no longer this writer's (its lease ran out and another
 * node removed it): those must not be acknowledged.
 */
export async function insertGroup(tx: Tx, group: Accepting[], writer: string): Promise<Set<string>> {
  const lost = new Set<string>();
  const chunked = group.filter((g) => g.inline === undefined);
  if (chunked.length) {
    const r = await tx.query<{ body_id: string }>(`UPDATE bodies b SET writer = NULL, lease_until = NULL, size = u.size, chunks = u.chunks
        FROM unnest($1::text[], $2::bigint[], $3::integer[]) AS u(body_id, size, chunks)
        WHERE b.body_id = u.body_id AND b.writer = $4 RETURNING b.body_id`,
    [chunked.map((g) => g.bodyId), chunked.map((g) => g.message.size), chunked.map((g) => g.chunks), writer]);
    const kept = new Set(r.rows.map((x) => x.body_id));
    for (const g of chunked) if (!kept.has(g.bodyId)) lost.add(g.message.id);
  }
  const inline = group.filter((g) => g.inline !== undefined);
  if (inline.length) {
    await tx.query(`INSERT INTO bodies (body_id, size, chunks) SELECT * FROM unnest($1::text[], $2::bigint[], $3::integer[])`,
      [inline.map((g) => g.bodyId), inline.map((g) => g.inline!.length), inline.map((g) => (g.inline!.length ? 1 : 0))]);
    const withData = inline.filter((g) => g.inline!.length > 0);
    // Buffers go as binary parameters (an array parameter would be sent as hex text, twice the size).
    for (let i = 0; i < withData.length; i += 500) {
      const part = withData.slice(i, i + 500);
      await tx.query(`INSERT INTO body_chunks (body_id, seq, data) VALUES ${part.map((_, k) => `($${2 * k + 1}, 0, $${2 * k + 2})`).join(', ')}`,
        part.flatMap((g) => [g.bodyId, g.inline!]));
    }
  }

  const msg = {
    id: [] as string[], parent: [] as (string | null)[], body: [] as string[], kind: [] as string[], route: [] as (string | null)[],
    sender: [] as string[], size: [] as number[], received: [] as number[], expires: [] as number[], device: [] as (string | null)[],
    ip: [] as string[], origin: [] as string[], subject: [] as (string | null)[], subjectText: [] as (string | null)[], headerFrom: [] as (string | null)[],
    messageId: [] as (string | null)[], sendAs: [] as (string | null)[], notes: [] as (string | null)[], eightBit: [] as (boolean | null)[],
  };
  const rcpt = { id: [] as string[], idx: [] as number[], address: [] as string[], at: [] as number[] };
  const ev = { id: [] as string[], at: [] as number[], kind: [] as string[], text: [] as string[], data: [] as (string | null)[] };
  const devices: DeviceActivity[] = [];
  for (const g of group) {
    const m = g.message;
    if (lost.has(m.id)) continue;
    const o = m.origin;
    const groups = m.routes?.length ? m.routes : [{ route: null, recipients: m.recipients, rule: undefined }];
    groups.forEach((rg, n) => {
      const id = n === 0 ? m.id : `${m.id}.${n}`;
      msg.id.push(id);
      msg.parent.push(n === 0 ? null : m.id);
      msg.body.push(g.bodyId);
      msg.kind.push(m.kind ?? 'message');
      msg.route.push(rg.route);
      msg.sender.push(m.sender);
      msg.size.push(m.size);
      msg.received.push(m.receivedAt);
      msg.expires.push(m.expiresAt);
      msg.device.push(o.device);
      msg.ip.push(o.clientIp);
      msg.origin.push(JSON.stringify(o));
      msg.subject.push(m.subject ?? null);
      msg.subjectText.push(decodedSubject(m.subject));
      msg.headerFrom.push(m.headerFrom ?? null);
      msg.messageId.push(m.messageIdHeader ?? null);
      msg.sendAs.push(m.sendAs ?? null);
      msg.eightBit.push(m.eightBit ?? null);
      msg.notes.push(m.notes?.length ? JSON.stringify(m.notes) : null);
      rg.recipients.forEach((r, i) => {
        rcpt.id.push(id);
        rcpt.idx.push(i);
        rcpt.address.push(r);
        rcpt.at.push(m.receivedAt);
      });
      const event = (kind: string, text: string, data: unknown) => {
        ev.id.push(id);
        ev.at.push(m.receivedAt);
        ev.kind.push(kind);
        ev.text.push(text);
        ev.data.push(JSON.stringify(data));
      };
      const received = receivedEvent(m, n === 0 ? undefined : m.id);
      event('received', received.text, received.data);
      if (rg.route !== null) {
        const routed = routedEvent(rg.route, rg.recipients, rg.rule);
        event('routed', routed.text, routed.data);
      }
    });
    if (o.device && (m.kind ?? 'message') === 'message') {
      devices.push({
        device: o.device, clientIp: o.clientIp, at: m.receivedAt, accepted: 1, listener: o.listener,
        authMechanism: o.authMechanism ?? 'none', tlsVersion: o.tlsVersion ?? 'none',
      });
    }
  }
  if (msg.id.length === 0) return lost;
  await tx.query(`INSERT INTO messages (id, parent_id, body_id, kind, state, route, sender, size, received_at, expires_at, updated_at,
      next_attempt_at, device, client_ip, origin, subject, subject_text, header_from, message_id_header, send_as, notes, eight_bit)
    SELECT id, parent_id, body_id, kind, 'incoming', route, sender, size, received_at, expires_at, received_at, received_at,
      device, client_ip, origin, subject, subject_text, header_from, message_id_header, send_as, notes, eight_bit
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[],
      $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::boolean[], $19::text[])
      AS u(id, parent_id, body_id, kind, route, sender, size, received_at, expires_at, device, client_ip, origin, subject,
        header_from, message_id_header, send_as, notes, eight_bit, subject_text)`,
  [msg.id, msg.parent, msg.body, msg.kind, msg.route, msg.sender, msg.size, msg.received, msg.expires, msg.device, msg.ip,
    msg.origin, msg.subject, msg.headerFrom, msg.messageId, msg.sendAs, msg.notes, msg.eightBit, msg.subjectText]);
  await tx.query(`INSERT INTO recipients (message_id, idx, address, state, updated_at)
      SELECT id, idx, address, 'pending', at FROM unnest($1::text[], $2::integer[], $3::text[], $4::bigint[]) AS u(id, idx, address, at)`,
  [rcpt.id, rcpt.idx, rcpt.address, rcpt.at]);
  await insertEvents(tx, ev);
  await upsertDeviceActivity(tx, mergeActivity(devices));
  return lost;
}

/** Inserts trail events in the order given (the order of their sequence numbers). */
export async function insertEvents(
  tx: Tx,
  ev: { id: string[]; at: number[]; kind: string[]; text: string[]; data: (string | null)[] },
): Promise<void> {
  if (ev.id.length === 0) return;
  await tx.query(`INSERT INTO events (message_id, at, kind, text, data)
      SELECT id, at, kind, text, data FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[])
        WITH ORDINALITY AS u(id, at, kind, text, data, n) ORDER BY n`,
  [ev.id, ev.at, ev.kind, ev.text, ev.data]);
}
