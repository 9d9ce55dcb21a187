/**
 * The capture transport passes the shared transport contract as a transport
 * without an upstream: it holds every recipient and never sends anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureTransport } from '../../src/deliver/capture/capture.js';
import { outbound, transportContract } from '../contract/transport-contract.js';

transportContract('capture', async () => ({ transport: new CaptureTransport('capture'), close: async () => {} }));

test('capture: the hold names the route and says how to release the message', async () => {
  const t = new CaptureTransport('held-here');
  const out = await t.deliver(outbound({ recipients: ['a@contoso.com', 'b@contoso.com'] }), { signal: new AbortController().signal });
  for (const { outcome } of out) {
    assert.equal(outcome.action, 'hold');
    assert.equal(outcome.category, 'captured');
    assert.match(outcome.response ?? '', /held-here/);
    assert.match(outcome.hint ?? '', /queue release/);
  }
});
