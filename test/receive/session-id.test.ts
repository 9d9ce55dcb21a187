import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connectionId, sessionIdFromBytes } from '../../src/receive/relay-smtp-server.js';

/** smtp-server's own generator, as it writes it. */
const theirs = (b: Buffer) => BigInt(`0x${b.toString('hex')}`).toString(32).padStart(16, '0');

test('a session id is written from its bytes as smtp-server writes it', () => {
  const cases = [Buffer.alloc(10), Buffer.alloc(10, 0xff), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 1])];
  for (let i = 0; i < 2000; i++) cases.push(randomBytes(10));
  for (const b of cases) assert.equal(sessionIdFromBytes(b), theirs(b), b.toString('hex'));
  // A view into a larger block, as the pool hands them out.
  const block = randomBytes(40);
  for (let at = 0; at <= 30; at += 10) {
    const view = block.subarray(at, at + 10);
    assert.equal(sessionIdFromBytes(view), theirs(view));
  }
});

test('session ids from the pool have smtp-server\'s shape and do not repeat', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const id = connectionId();
    assert.match(id, /^[0-9a-v]{16}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 10_000);
});
