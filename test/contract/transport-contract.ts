/**
 * The shared contract every Transport passes (in the manner of Hono's
 * common.case tests): run it from a transport's own test file with a factory
 * that wires the transport to a real upstream (an SMTP server, the Microsoft
 * 365 emulator, ...) and hands back hooks that make that upstream accept,
 * refuse or disappear. A transport that keeps messages instead of sending them
 * (capture) has no upstream: every recipient must then be held.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { DeliveryOutcome, RecipientOutcome } from '../../src/core/outcome.js';
import type { DeliveryContext, Transport } from '../../src/deliver/transport.js';
import { awkwardBody, chunks, outbound, simpleBody } from './messages.js';

export { awkwardBody, outbound, simpleBody } from './messages.js';

export interface ReceivedByUpstream {
  sender: string;
  recipients: string[];
  body: Buffer;
}

/** Controls the real upstream behind a transport. Every method acts on messages sent after the call. */
export interface UpstreamHooks {
  /** Accept every recipient and message (the initial behaviour). */
  acceptAll(): void;
  /**
   * Refuse this recipient: 'permanent' (like SMTP 550 5.1.1), 'temporary' (like 450 4.2.1).
   * Absent for an upstream that cannot refuse one recipient of a message (see ContractOptions.perRecipientReplies).
   */
  refuseRecipient?(address: string, how: 'permanent' | 'temporary'): void;
  /** Refuse the whole message once its content has arrived (SMTP reply to DATA, HTTP error to the send request). */
  refuseMessage(how: 'permanent' | 'temporary'): void;
  /** Nothing answers at the upstream's address any more (connection refused). */
  down(): Promise<void>;
  /** The upstream is back at the same address. */
  up(): Promise<void>;
  /** Take this long to answer a message (0: answer at once). */
  slow(ms: number): void;
  /** Messages the upstream accepted, in order. */
  received(): ReceivedByUpstream[];
}

export interface TransportFixture {
  transport: Transport;
  /** The upstream behind the transport; absent for a transport that keeps messages (capture). */
  upstream?: UpstreamHooks;
  close(): Promise<void>;
}

export interface ContractOptions {
  /** The upstream sees the envelope sender exactly as given (default true; false e.g. for a transport that sends as a mailbox). */
  keepsSender?: boolean;
  /** The upstream gets the stored bytes unchanged (default true). */
  keepsBody?: boolean;
  /**
   * The upstream answers for each recipient while the message is sent (SMTP RCPT replies; default true),
   * and its fixture implements refuseRecipient.
   *
   * False for an API that takes the message as a whole and cannot be made to refuse one of its
   * recipients: Graph sendMail accepts any well-formed address and reports an unknown one later, in
   * a non-delivery report to the mailbox, and the emulator (like Microsoft) has nothing that refuses
   * a single recipient of a Graph request. Its fixture leaves refuseRecipient out and the tests about
   * refused recipients are not registered for it: there is no refused recipient to test. Refusals of
   * the whole message are tested for every transport.
   */
  perRecipientReplies?: boolean;
}

function canonical(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
}

function ctx(signal: AbortSignal = new AbortController().signal): DeliveryContext {
  return { signal };
}

function assertOnePerRecipient(out: RecipientOutcome[], recipients: string[]): void {
  assert.deepEqual(out.map((o) => o.recipient), recipients, 'exactly one outcome per recipient, in the order given');
  for (const { outcome } of out) {
    assert.ok(['delivered', 'retry', 'fail', 'hold'].includes(outcome.action), `unknown action ${outcome.action}`);
    assert.equal(typeof outcome.category, 'string');
    assert.ok(outcome.category.length > 0, 'every outcome has a category');
    if (outcome.action !== 'delivered') assert.ok(outcome.hint && outcome.hint.length > 0, `a ${outcome.action} outcome tells people what to do`);
  }
}

function actions(out: RecipientOutcome[]): string[] {
  return out.map((o) => o.outcome.action);
}

async function withFixture(factory: () => Promise<TransportFixture>, fn: (f: TransportFixture) => Promise<void>): Promise<void> {
  const f = await factory();
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

export function transportContract(name: string, factory: () => Promise<TransportFixture>, options: ContractOptions = {}): void {
  const keepsSender = options.keepsSender ?? true;
  const keepsBody = options.keepsBody ?? true;
  const perRecipient = options.perRecipientReplies ?? true;
  const run = (title: string, fn: (f: TransportFixture) => Promise<void>) => test(title, () => withFixture(factory, fn));
  /** Makes the upstream refuse one recipient; an upstream that answers per recipient must be able to. */
  const refuse = (f: TransportFixture, address: string, how: 'permanent' | 'temporary') => {
    if (!f.upstream) return;
    assert.ok(f.upstream.refuseRecipient, 'the upstream answers per recipient (perRecipientReplies), so its fixture implements refuseRecipient');
    f.upstream.refuseRecipient(address, how);
  };
  /** The action a transport gives when its upstream would accept: delivered, or hold for a transport without one. */
  const ok = (f: TransportFixture) => (f.upstream ? 'delivered' : 'hold');
  /** What a failure at the upstream means, or hold when there is no upstream to fail. */
  const or = (f: TransportFixture, action: DeliveryOutcome['action']) => (f.upstream ? action : 'hold');

  describe(`transport contract: ${name}`, () => {
    run('names itself and has a positive concurrency', async (f) => {
      assert.ok(f.transport.name.length > 0);
      assert.ok(f.transport.type.length > 0);
      assert.ok(Number.isInteger(f.transport.concurrency) && f.transport.concurrency >= 1);
      if (f.upstream && !perRecipient) {
        assert.equal(f.upstream.refuseRecipient, undefined, 'perRecipientReplies: false is for an upstream that cannot refuse one recipient; one that can runs the refused-recipient tests');
      }
    });

    run('an accepted message: one outcome per recipient, in order', async (f) => {
      const recipients = ['alice@contoso.com', 'Bob.Smith@Contoso.com', 'carol+scans@fabrikam.com'];
      const out = await f.transport.deliver(outbound({ recipients }), ctx());
      assertOnePerRecipient(out, recipients);
      assert.deepEqual(actions(out), recipients.map(() => ok(f)));
      if (f.upstream) assert.equal(f.upstream.received().length, 1, 'the upstream got the message once');
    });

    run('the envelope is passed unchanged, Bcc-only recipients included', async (f) => {
      // dave@ and erin@ appear in no header: they are Bcc recipients, known only from the envelope.
      const recipients = ['alice@contoso.com', 'dave@fabrikam.com', 'Erin@Northwind.example.com'];
      const out = await f.transport.deliver(outbound({ sender: 'Bounces+Scan@contoso.com', recipients }), ctx());
      assertOnePerRecipient(out, recipients);
      if (!f.upstream) return;
      const [got] = f.upstream.received();
      assert.ok(got);
      // Local parts exactly (they may be case-sensitive); domains are DNS names, compared without case.
      assert.deepEqual(got.recipients.map(canonical), recipients.map(canonical));
      if (keepsSender) assert.equal(canonical(got.sender), canonical('Bounces+Scan@contoso.com'));
      assert.ok(!got.body.includes('dave@fabrikam.com'), 'Bcc recipients are not exposed in the message');
    });

    run('the null sender is passed as the null sender', async (f) => {
      const out = await f.transport.deliver(outbound({ sender: '', recipients: ['alice@contoso.com'] }), ctx());
      assert.deepEqual(actions(out), [ok(f)]);
      if (f.upstream && keepsSender) assert.equal(f.upstream.received()[0]?.sender, '');
    });

    run('the body bytes are passed unchanged (dots, 8-bit, long lines, chunk boundaries)', async (f) => {
      const body = awkwardBody();
      for (const chunk of [1_000, 65_536]) {
        const out = await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'], body, chunk }), ctx());
        assert.deepEqual(actions(out), [ok(f)]);
      }
      if (!f.upstream || !keepsBody) return;
      for (const got of f.upstream.received()) {
        assert.equal(got.body.length, body.length);
        assert.ok(got.body.equals(body), 'the upstream received the stored bytes exactly');
      }
    });

    // Not registered for an upstream that cannot refuse one recipient (perRecipientReplies: false):
    // see ContractOptions. Whole-message refusals below are tested for every transport.
    if (perRecipient) {
      run('a recipient refused permanently fails alone; the others are delivered', async (f) => {
        refuse(f, 'nobody@contoso.com', 'permanent');
        const recipients = ['alice@contoso.com', 'nobody@contoso.com', 'bob@contoso.com'];
        const out = await f.transport.deliver(outbound({ recipients }), ctx());
        assertOnePerRecipient(out, recipients);
        assert.deepEqual(actions(out), [ok(f), or(f, 'fail'), ok(f)]);
        if (!f.upstream) return;
        const failed = out[1]!.outcome;
        assert.notEqual(failed.scope, 'destination', 'one bad recipient does not make the upstream unavailable');
        assert.ok(failed.response, 'the upstream answer is kept for the trail and the notice');
        assert.deepEqual(f.upstream.received()[0]?.recipients, ['alice@contoso.com', 'bob@contoso.com']);
      });

      run('a recipient refused temporarily is retried on its own', async (f) => {
        refuse(f, 'busy@contoso.com', 'temporary');
        const recipients = ['busy@contoso.com', 'alice@contoso.com'];
        const out = await f.transport.deliver(outbound({ recipients }), ctx());
        assertOnePerRecipient(out, recipients);
        assert.deepEqual(actions(out), [or(f, 'retry'), ok(f)]);
        if (f.upstream) assert.equal(out[0]!.outcome.scope, 'message');
      });

      run('every recipient refused, each for its own reason', async (f) => {
        refuse(f, 'gone@contoso.com', 'permanent');
        refuse(f, 'full@contoso.com', 'temporary');
        const recipients = ['gone@contoso.com', 'full@contoso.com'];
        const out = await f.transport.deliver(outbound({ recipients }), ctx());
        assertOnePerRecipient(out, recipients);
        assert.deepEqual(actions(out), [or(f, 'fail'), or(f, 'retry')]);
        if (f.upstream) assert.equal(f.upstream.received().length, 0);
      });
    }

    run('the message refused permanently after its content: every recipient fails', async (f) => {
      f.upstream?.refuseMessage('permanent');
      const recipients = ['alice@contoso.com', 'bob@contoso.com'];
      const out = await f.transport.deliver(outbound({ recipients }), ctx());
      assertOnePerRecipient(out, recipients);
      assert.deepEqual(actions(out), [or(f, 'fail'), or(f, 'fail')]);
    });

    run('the message refused temporarily after its content: every recipient is retried', async (f) => {
      f.upstream?.refuseMessage('temporary');
      const recipients = ['alice@contoso.com', 'bob@contoso.com'];
      const out = await f.transport.deliver(outbound({ recipients }), ctx());
      assertOnePerRecipient(out, recipients);
      assert.deepEqual(actions(out), [or(f, 'retry'), or(f, 'retry')]);
    });

    run('an unreachable upstream: retry with scope destination, never a throw', async (f) => {
      await f.upstream?.down();
      const recipients = ['alice@contoso.com', 'bob@contoso.com'];
      const out = await f.transport.deliver(outbound({ recipients }), ctx());
      assertOnePerRecipient(out, recipients);
      assert.deepEqual(actions(out), [or(f, 'retry'), or(f, 'retry')]);
      if (f.upstream) for (const { outcome } of out) assert.equal(outcome.scope, 'destination');
    });

    run('the transport works again when the upstream comes back', async (f) => {
      const first = await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'] }), ctx());
      assert.deepEqual(actions(first), [ok(f)]);
      await f.upstream?.down();
      await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'] }), ctx());
      await f.upstream?.up();
      const again = await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'] }), ctx());
      assert.deepEqual(actions(again), [ok(f)]);
      if (f.upstream) assert.equal(f.upstream.received().length, 2);
    });

    run('an unreadable stored body: an outcome for every recipient, nothing delivered', async (f) => {
      const broken = () => new Readable({ read() { this.destroy(new Error('ENOENT: body file missing')); } });
      const recipients = ['alice@contoso.com', 'bob@contoso.com'];
      const out = await f.transport.deliver(outbound({ recipients, openBody: broken }), ctx());
      assertOnePerRecipient(out, recipients);
      for (const { outcome } of out) assert.notEqual(outcome.action, 'delivered');
      if (f.upstream) assert.equal(f.upstream.received().length, 0);
    });

    run('a stored body that cannot even be opened: an outcome for every recipient, never a throw', async (f) => {
      const recipients = ['alice@contoso.com', 'bob@contoso.com'];
      const missing = () => {
        throw Object.assign(new Error('ENOENT: no such file or directory, open body'), { code: 'ENOENT' });
      };
      const out = await f.transport.deliver(outbound({ recipients, openBody: missing }), ctx());
      assertOnePerRecipient(out, recipients);
      assert.deepEqual(actions(out), [or(f, 'fail'), or(f, 'fail')]);
      if (!f.upstream) return;
      for (const { outcome } of out) assert.equal(outcome.category, 'spool');
      assert.equal(f.upstream.received().length, 0);
      const next = await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'] }), ctx());
      assert.deepEqual(actions(next), ['delivered'], 'the next message goes out as usual');
    });

    run('a stored body that breaks off half way: it fails at once as a spool problem, the route is not paused', async (f) => {
      const body = awkwardBody();
      let served = false;
      const breaking = () => new Readable({
        read() {
          if (served) return this.destroy(new Error('EIO: i/o error, read'));
          served = true;
          this.push(body.subarray(0, 30_000));
        },
      });
      const started = Date.now();
      const out = await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'], body, openBody: () => ((served = false), breaking()) }), ctx());
      assert.deepEqual(actions(out), [or(f, 'fail')]);
      if (!f.upstream) return;
      assert.ok(Date.now() - started < 5_000, `the failure was seen at once, not after a timeout (${Date.now() - started} ms)`);
      assert.equal(out[0]!.outcome.category, 'spool', JSON.stringify(out[0]!.outcome));
      assert.notEqual(out[0]!.outcome.scope, 'destination');
      assert.equal(f.upstream.received().length, 0);
    });

    run('every stored body it opens is released, whatever the upstream answers (no file is left open)', async (f) => {
      // Large enough that a reader that stops half way leaves some of it unread.
      const body = awkwardBody();
      const opened: Readable[] = [];
      const tracked = () => {
        const s = Readable.from(chunks(body, 1_000));
        opened.push(s);
        return s;
      };
      const released = async (what: string) => {
        await new Promise((r) => setTimeout(r, 50));
        for (const s of opened) assert.ok(s.destroyed, `${what}: a stored body was left open`);
        opened.length = 0;
      };
      await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'], body, openBody: tracked }), ctx());
      await released('accepted');
      f.upstream?.refuseMessage('permanent');
      await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'], body, openBody: tracked }), ctx());
      await released('refused');
      f.upstream?.acceptAll();
      f.upstream?.slow(10_000);
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 300);
      await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'], body, openBody: tracked }), ctx(ac.signal));
      await released('interrupted');
      f.upstream?.acceptAll();
      await f.upstream?.down();
      await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'], body, openBody: tracked }), ctx());
      await released('unreachable');
    });

    run('an abort interrupts a slow delivery promptly, without claiming success or failure', async (f) => {
      f.upstream?.slow(10_000);
      const ac = new AbortController();
      const started = Date.now();
      const pending = f.transport.deliver(outbound({ recipients: ['alice@contoso.com', 'bob@contoso.com'] }), ctx(ac.signal));
      setTimeout(() => ac.abort(), 300);
      const out = await pending;
      assert.ok(Date.now() - started < 5_000, `deliver returned ${Date.now() - started} ms after the abort`);
      assert.deepEqual(actions(out), [or(f, 'retry'), or(f, 'retry')]);
    });

    run('an already aborted signal: nothing is sent', async (f) => {
      const ac = new AbortController();
      ac.abort();
      const out = await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'] }), ctx(ac.signal));
      assertOnePerRecipient(out, ['alice@contoso.com']);
      assert.notEqual(out[0]!.outcome.action, 'delivered');
      if (f.upstream) {
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(f.upstream.received().length, 0);
      }
    });

    run('concurrent deliveries up to the concurrency each get their own outcomes', async (f) => {
      const n = Math.min(8, f.transport.concurrency * 2);
      const sent = Array.from({ length: n }, (_, i) => outbound({ recipients: [`user${i}@contoso.com`], body: simpleBody(` ${i}`) }));
      const outs = await Promise.all(sent.map((m) => f.transport.deliver(m, ctx())));
      outs.forEach((out, i) => {
        assertOnePerRecipient(out, [`user${i}@contoso.com`]);
        assert.equal(out[0]!.outcome.action, ok(f));
      });
      if (!f.upstream) return;
      const got = f.upstream.received();
      assert.equal(got.length, n);
      if (!keepsBody) return;
      for (const g of got) {
        const i = Number(/user(\d+)@/.exec(g.recipients[0]!)?.[1]);
        assert.ok(g.body.toString().includes(`hello ${i}\r\n`), 'each recipient got its own message');
      }
    });
  });
}
