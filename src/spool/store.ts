/**
 * The spool: the one owner of message state. Implementations (sqlite/ and
 * postgres/) pass the shared contract suite in test/contract/store-contract.ts.
 *
 * Durability rule: when accept() resolves, the body and the metadata are on
 * stable storage. Only then does the receive stage answer 250.
 *
 * Leases: claim() gives each message a lease (owner, a token unique to that
 * claim, and an expiry). Renewing, routing, finishing and releasing all name
 * the lease and change nothing unless the caller still holds it: once a lease
 * has run out and another claim took the message over (another node, or the
 * same node again), the earlier holder's result is refused instead of
 * overwriting the newer owner's work.
 */
import type { Readable, Writable } from 'node:stream';
import type { DeliveryOutcome } from '../core/outcome.js';
import type { Actor, Say } from '../core/trail-texts.js';
import type { MigrationLedger } from './migration-records.js';

export type MessageState = 'incoming' | 'active' | 'deferred' | 'held' | 'delivered' | 'failed';
export const MESSAGE_STATES: readonly MessageState[] = ['incoming', 'active', 'deferred', 'held', 'delivered', 'failed'];

export type RecipientState = 'pending' | 'delivered' | 'failed' | 'held';

/** Where the message came from and how; shown in the trail. */
export interface Origin {
  device: string | null;
  clientIp: string;
  listener: string;
  heloName?: string;
  tlsVersion?: string;
  authUser?: string;
  authMechanism?: string;
}

export interface NewMessage {
  id: string;
  receivedAt: number;
  expiresAt: number;
  sender: string;
  recipients: string[];
  size: number;
  origin: Origin;
  subject?: string;
  headerFrom?: string;
  messageIdHeader?: string;
  /** Mailbox the device sends as (chosen by device policy), if any. */
  sendAs?: string;
  /** Set on messages the relay made itself (non-delivery notices). */
  kind?: 'message' | 'notice';
  /** The configuration version the message was accepted under (recorded in the trail). */
  configVersion?: string;
  /** Whether the stored message has bytes above 127 (the upstream is told BODY=8BITMIME); unknown for older messages. */
  eightBit?: boolean;
  /** Free-form notes recorded at acceptance (e.g. sender rewritten, line endings normalised). */
  notes?: string[];
  /** The notes as trail texts, in the same order (kept in the received trail entry, so the notes can be shown in Japanese). */
  notesSaid?: Say[];
  /**
   * Routes chosen at acceptance. The first group stays on this id, further
   * groups become messages `${id}.1`, `${id}.2`... sharing the body. Without
   * routes the message is routed by the scheduler.
   */
  routes?: RouteAssignment[];
}

export interface RouteAssignment {
  route: string;
  recipients: string[];
  /** The rule that chose it, for the trail. */
  rule?: string;
}

export interface RecipientRecord {
  address: string;
  state: RecipientState;
  attempts: number;
  updatedAt: number;
  last?: DeliveryOutcome;
}

export interface QueuedMessage extends NewMessage {
  state: MessageState;
  /** Upstream chosen by the router; null until routed. */
  route: string | null;
  parentId: string | null;
  bodyId: string;
  attempts: number;
  nextAttemptAt: number;
  leaseOwner: string | null;
  /** Unique to the claim that holds the lease (null when no lease is held). */
  leaseToken: string | null;
  leaseUntil: number | null;
  updatedAt: number;
  recipientRecords: RecipientRecord[];
  lastError?: DeliveryOutcome;
}

export interface TrailEvent {
  at: number;
  kind: string;
  text: string;
  data?: Record<string, unknown>;
}

/**
 * What the receive stage needs of the store: a body to write, the acceptance
 * commit, and the device inventory's refusals. A receive worker with SQLite
 * gets these from the main process, the spool's single writer
 * (root/receive-spool.ts).
 */
export type ReceiveStore = Pick<Store, 'createBody' | 'accept' | 'recordDeviceActivity'>;

export interface BodyWriter {
  /** The stored body's name (the store links it to the message on accept). */
  readonly bodyId: string;
  /** Write the message here (already normalised, with any added headers). */
  readonly stream: Writable;
  /** Flushes and fsyncs the file; resolves with the size in bytes. */
  finish(): Promise<number>;
  /** Removes the partial body (message refused or connection lost). */
  abort(): Promise<void>;
}

export interface ClaimRequest {
  owner: string;
  /** Upstream name; null claims messages that are not routed yet. */
  route: string | null;
  limit: number;
  leaseMs: number;
  now: number;
}

export interface RecipientUpdate {
  address: string;
  state: RecipientState;
  outcome: DeliveryOutcome;
}

/** A lease on one message, as a claim returned it. */
export interface LeaseRef {
  id: string;
  owner: string;
  token: string;
}

/** The lease a claimed message carries. */
export function leaseOf(m: Pick<QueuedMessage, 'id' | 'leaseOwner' | 'leaseToken'>): LeaseRef {
  if (m.leaseOwner === null || m.leaseToken === null) throw new Error(`message ${m.id} holds no lease`);
  return { id: m.id, owner: m.leaseOwner, token: m.leaseToken };
}

export interface AttemptResult {
  at: number;
  durationMs: number;
  route: string;
  /** The message's new state: deferred, held, delivered or failed. */
  state: Exclude<MessageState, 'incoming' | 'active'>;
  nextAttemptAt: number;
  recipients: RecipientUpdate[];
  summary: string;
  /** The summary's trail text and values (the trail shows it in English or Japanese); without it the summary is shown as it is. */
  say?: Say;
  /**
   * The pending recipients go back to routing (the route column is cleared,
   * due at nextAttemptAt): their upstream cannot take mail now and the route
   * names a fallback (the scheduler routes them again).
   */
  unroute?: boolean;
}

export interface ListFilter {
  states?: MessageState[];
  device?: string;
  sender?: string;
  recipient?: string;
  route?: string;
  /** Substring of the Subject, case-insensitive. */
  subject?: string;
  limit?: number;
  /** Received before this time (exclusive). */
  before?: number;
  /** Received at or after this time. */
  since?: number;
}

/** Time buckets [since, until) of bucketMs each; the last one may reach past until. */
export interface ActivityQuery {
  since: number;
  until: number;
  bucketMs: number;
}

export interface ActivityBucket {
  /** Start of the bucket (ms since the epoch). */
  start: number;
  /** Messages received in the bucket (parts made by splitting are not counted again). */
  accepted: number;
  /** Messages (and parts) whose last attempt, in the bucket, delivered them. */
  delivered: number;
  /** Messages (and parts) whose last attempt, in the bucket, failed them. */
  failed: number;
}

export interface DeviceSeen {
  device: string;
  clientIp: string;
  lastSeen: number;
  authMechanism: string | null;
  tlsVersion: string | null;
  listener: string | null;
  accepted: number;
  rejected: number;
  failed: number;
}

export interface DeviceActivity {
  device: string;
  clientIp: string;
  at: number;
  authMechanism?: string;
  tlsVersion?: string;
  listener?: string;
  accepted?: number;
  rejected?: number;
}

/** The spool; the migration board's records (migration-records.ts) are kept beside the messages. */
export interface Store extends MigrationLedger {
  /** Creates tables/directories. Safe to call on an existing spool. */
  init(): Promise<void>;
  close(): Promise<void>;

  // receive side
  createBody(id: string): BodyWriter;
  /**
   * Durable when resolved. Concurrent calls are committed in groups. The
   * device inventory (accepted count, last seen, AUTH, TLS) is updated in the
   * same commit.
   */
  accept(message: NewMessage): Promise<void>;

  // deliver side
  /** The stored message; `readBytes` is the size of each read from a body file, where the store reads files (a hint). */
  openBody(bodyId: string, readBytes?: number): Readable;
  /** Claims due messages (and active ones whose lease ran out), each under a new lease. */
  claim(req: ClaimRequest): Promise<QueuedMessage[]>;
  /**
   * Extends the leases the caller still holds to now + leaseMs. Resolves with
   * the ids renewed; a lease missing from the answer was lost (taken over).
   */
  renewLease(leases: LeaseRef[], leaseMs: number, now: number): Promise<string[]>;
  /**
   * Gives up leases the caller still holds without an attempt: the messages go
   * back to the queue, due at once, for any node. Resolves with how many.
   */
  releaseLeases(leases: LeaseRef[], now: number): Promise<number>;
  /**
   * Assigns routes to a claimed, unrouted message. The first group stays on
   * the message; every further group becomes a new message sharing the body.
   * All keep state incoming (due now). Returns the ids, in group order.
   * Rejects when the caller does not hold the lease.
   */
  assignRoutes(lease: LeaseRef, groups: { route: string; recipients: string[]; rule?: string }[], now: number): Promise<string[]>;
  /**
   * Records an attempt, recipient outcomes, and the new state; ends the lease.
   * Resolves false, changing nothing, when the caller no longer holds the lease.
   */
  finishAttempt(lease: LeaseRef, result: AttemptResult): Promise<boolean>;
  /** Upstream names that queued (incoming or deferred) messages are routed to. */
  queuedRoutes(): Promise<string[]>;
  /**
   * Sends queued (incoming or deferred) messages back to routing, due now: the
   * routing rules changed, and the next pass routes their pending recipients
   * with the new ones. Held, active and finished messages are left alone.
   * Resolves with how many.
   */
  unrouteQueued(now: number, by: Actor, routes?: readonly string[]): Promise<number>;
  /** Returns messages left active by this owner (or with an expired lease) to the queue. */
  recoverActive(owner: string, now: number): Promise<number>;

  // people and tools
  get(id: string): Promise<QueuedMessage | undefined>;
  list(filter: ListFilter): Promise<QueuedMessage[]>;
  trail(id: string): Promise<TrailEvent[]>;
  addEvent(id: string, event: TrailEvent): Promise<void>;
  counts(): Promise<Record<MessageState, number>>;
  /** Accepted, delivered and failed counts per time bucket, every bucket present (zeros included). */
  activity(query: ActivityQuery): Promise<ActivityBucket[]>;
  /** failed/deferred/held → incoming, failed recipients pending again, new lifetime. */
  retry(id: string, now: number, expiresAt: number, by: Actor): Promise<boolean>;
  /** held → incoming, re-routed on the next pass. */
  release(id: string, now: number, by: Actor): Promise<boolean>;
  remove(id: string): Promise<boolean>;
  /** Deletes bodies of delivered messages finished before the given time. */
  purgeDeliveredBodies(before: number): Promise<number>;
  /** Removes bodies that no message refers to (a crash between body and commit). Run before accepting mail. */
  removeOrphanBodies(): Promise<number>;

  // device inventory
  recordDeviceActivity(activity: DeviceActivity): Promise<void>;
  recordDeviceFailure(device: string, clientIp: string): Promise<void>;
  devicesSeen(): Promise<DeviceSeen[]>;
}
