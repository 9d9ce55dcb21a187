/**
 * Which mailbox sends a device's message, end to end (device → relay over
 * SMTP → the Microsoft 365 emulator), for Graph (the /users/{mailbox}/sendMail
 * path) and SMTP OAuth (the XOAUTH2 user): the device's sendAs first, then
 * the route's mailbox, then the From address.
 *
 * Each level is made observable: every device may use the From address
 * alice@ (its allowedFrom covers the domain, so device policy leaves From as
 * it is), the devices with sendAs send as scanner@, the route with a mailbox
 * names bob@, and every mailbox lets the app send as it (so Microsoft accepts
 * whichever mailbox the relay picks, and the test sees which one it was).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/api.js';
import { contoso, graphUpstream, smtpOauthUpstream, type Contoso } from '../helpers/m365.js';
import { sendMail, startRelay } from '../helpers/delivery.js';
import type { TestRelay } from '../helpers/relay.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator();
});
after(async () => {
  await emu.close();
});

const kinds = [
  { kind: 'graph', upstream: graphUpstream, via: 'graph-mime', what: 'the /users/{mailbox}/sendMail path' },
  { kind: 'smtp-oauth', upstream: smtpOauthUpstream, via: 'smtp', what: 'the XOAUTH2 user' },
] as const;

for (const k of kinds) {
  describe(`the sending mailbox through ${k.kind} (${k.what}): device sendAs, then route mailbox, then From`, () => {
    let c: Contoso;
    let relay: TestRelay;
    let domain: string;
    before(async () => {
      c = contoso(emu);
      domain = c.tenant.domains[1]!;
      for (const box of [c.scanner, c.alice, c.bob, c.carol]) emu.mailbox(box).sendAs.push(c.app.clientId);
      const anyInDomain = [`*@${domain}`];
      relay = await startRelay({
        upstreams: {
          // The route's mailbox: bob (neither the devices' sendAs nor the From address).
          withMailbox: k.upstream(emu, c, { mailbox: c.bob }),
          withoutMailbox: k.upstream(emu, c, { mailbox: undefined }),
        },
        devices: [
          { name: 'sendas-routebox', networks: ['127.0.0.2/32'], sendAs: c.scanner, allowedFrom: anyInDomain, route: 'withMailbox' },
          { name: 'plain-routebox', networks: ['127.0.0.3/32'], allowedFrom: anyInDomain, route: 'withMailbox' },
          { name: 'plain-nobox', networks: ['127.0.0.4/32'], allowedFrom: anyInDomain, route: 'withoutMailbox' },
          { name: 'sendas-nobox', networks: ['127.0.0.5/32'], sendAs: c.scanner, allowedFrom: anyInDomain, route: 'withoutMailbox' },
        ],
        routes: [{ use: 'withMailbox' }],
      });
    });
    after(async () => {
      await relay?.close();
    });

    /** Sends From alice as the device at this address; answers the mailbox Microsoft saw it sent from. */
    async function mailboxUsed(localAddress: string, device: string, route: string): Promise<string> {
      const subject = `mailbox choice ${k.kind} ${device} ${Math.random().toString(36).slice(2)}`;
      const id = await sendMail(relay, { localAddress, from: `Front desk <${c.alice}>`, to: [c.carol], subject });
      const done = await relay.waitFor(id, ['delivered', 'failed', 'held'], 30_000);
      assert.equal(done.state, 'delivered', JSON.stringify(done.lastError));
      assert.equal(done.origin.device, device);
      assert.equal(done.route, route);
      // Device policy left From alone: the choice below is the relay's, not a rewritten header's.
      assert.equal(done.headerFrom?.toLowerCase(), c.alice.toLowerCase());
      const sent = emu.sent().filter((s) => s.mime.includes(subject));
      assert.equal(sent.length, 1, 'sent once');
      assert.equal(sent[0]!.via, k.via);
      if (k.kind === 'graph') {
        const req = emu.requests().filter((r) => r.service === 'graph' && r.status === 202 && r.path.endsWith('/sendMail') && r.mailbox?.toLowerCase() === sent[0]!.mailbox?.toLowerCase());
        assert.ok(req.length >= 1, 'a sendMail request on the mailbox\'s path');
      }
      return sent[0]!.mailbox!.toLowerCase();
    }

    test(`${k.kind}: a device with sendAs on a route with a mailbox sends as its sendAs (not the route's mailbox, not From)`, { timeout: 60_000 }, async () => {
      assert.equal(await mailboxUsed('127.0.0.2', 'sendas-routebox', 'withMailbox'), c.scanner.toLowerCase());
    });

    test(`${k.kind}: a device with sendAs on a route without a mailbox sends as its sendAs (not From)`, { timeout: 60_000 }, async () => {
      assert.equal(await mailboxUsed('127.0.0.5', 'sendas-nobox', 'withoutMailbox'), c.scanner.toLowerCase());
    });

    test(`${k.kind}: a device without sendAs on a route with a mailbox sends as the route's mailbox (not From)`, { timeout: 60_000 }, async () => {
      assert.equal(await mailboxUsed('127.0.0.3', 'plain-routebox', 'withMailbox'), c.bob.toLowerCase());
    });

    test(`${k.kind}: a device without sendAs on a route without a mailbox sends as the From address`, { timeout: 60_000 }, async () => {
      assert.equal(await mailboxUsed('127.0.0.4', 'plain-nobox', 'withoutMailbox'), c.alice.toLowerCase());
    });
  });
}
