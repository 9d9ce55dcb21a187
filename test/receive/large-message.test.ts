/**
 * Large scans: a 25 MB message is accepted and stored byte-exact (stored =
 * the Received field the relay prepends + the bytes sent, compared by
 * sha256); a device whose maxMessageSize is smaller gets 552, whether it
 * declares SIZE= or not, and nothing is stored.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTestRelay, queueIdOf, type TestRelay } from '../helpers/relay.js';
import { sharedCertificate } from '../helpers/cert.js';
import { SmtpWire, readAll, sha256, splitReceived, leadingEnhancedCodes } from '../helpers/smtp-wire.js';

const BIG_IP = '127.0.0.2';
const SMALL_IP = '127.0.0.3';

/** A MIME message of about `size` bytes with a base64 PDF attachment (no line starts with a dot). */
function scan(size: number): Buffer {
  const head = Buffer.from(
    'From: scanner@printer.local\r\nTo: user@example.com\r\nSubject: big scan\r\nMIME-Version: 1.0\r\n' +
      'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nscan attached\r\n' +
      '--b1\r\nContent-Type: application/pdf; name="scan.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n',
  );
  const tail = Buffer.from('--b1--\r\n');
  const lines = Math.ceil((size - head.length - tail.length) / 78);
  const b64 = randomBytes(lines * 57).toString('base64'); // 76 chars per 57 bytes
  const body = Buffer.alloc(lines * 78);
  for (let i = 0; i < lines; i++) {
    body.write(b64.slice(i * 76, i * 76 + 76), i * 78, 'latin1');
    body.write('\r\n', i * 78 + 76, 'latin1');
  }
  return Buffer.concat([head, body, tail]);
}

describe('large messages', () => {
  let relay: TestRelay;
  let message: Buffer;
  before(async () => {
    message = scan(25 * 1024 * 1024);
    relay = await startTestRelay({
      tls: await sharedCertificate(),
      trustLoopback: false,
      listeners: [
        { name: 'plain', host: '127.0.0.1', port: 0, tls: 'none', maxMessageSize: '50MB' },
        { name: 'small-port', host: '127.0.0.1', port: 0, tls: 'none', maxMessageSize: '20MB' },
      ],
      devices: [
        { name: 'big-scanner', networks: [`${BIG_IP}/32`] },
        { name: 'small-scanner', networks: [`${SMALL_IP}/32`], maxMessageSize: '10MB' },
      ],
    });
  });
  after(() => relay.close());

  async function transfer(ip: string, mailFrom: string, listener = 'plain') {
    const w = await SmtpWire.open(relay.port(listener), { localAddress: ip });
    try {
      const ehlo = await w.cmd('EHLO scanner');
      const mail = await w.cmd(mailFrom);
      if (mail.code !== 250) return { ehlo, mail };
      assert.equal((await w.cmd('RCPT TO:<user@example.com>')).code, 250);
      assert.equal((await w.cmd('DATA')).code, 354);
      w.write(message);
      w.write('.\r\n');
      const end = await w.read(60_000);
      const noop = await w.cmd('NOOP');
      return { ehlo, mail, end, noop };
    } finally {
      w.close();
    }
  }

  test('a 25 MB message is accepted and stored byte-exact after the Received field', async () => {
    assert.ok(message.length >= 25 * 1024 * 1024);
    const r = await transfer(BIG_IP, `MAIL FROM:<scanner@printer.local> SIZE=${message.length}`);
    assert.ok(r.ehlo.lines.includes(`SIZE ${50 * 1024 * 1024}`), r.ehlo.raw);
    assert.equal(r.end?.code, 250, r.end?.raw);
    const id = queueIdOf(r.end!.raw);
    const msg = await relay.waitFor(id, ['held']);
    const stored = await readAll(relay.store.openBody(msg.bodyId));
    const { received, rest } = splitReceived(stored);
    assert.equal(stored.length, Buffer.byteLength(received, 'latin1') + message.length);
    assert.equal(sha256(rest), sha256(message));
    assert.equal(msg.size, stored.length);
    assert.equal(msg.subject, 'big scan');
  });

  test('a device with maxMessageSize 10MB gets 552 at end of data without SIZE, and at MAIL FROM with SIZE', async () => {
    const before = (await relay.store.list({})).length;
    const noSize = await transfer(SMALL_IP, 'MAIL FROM:<scanner@printer.local>');
    assert.equal(noSize.end?.code, 552, noSize.end?.raw);
    assert.deepEqual(leadingEnhancedCodes(noSize.end!.lines[0]!), ['5.3.4']);
    assert.match(noSize.end!.raw, /too big for this device \(limit 10485760 bytes\)/);
    assert.equal(noSize.noop?.code, 250, 'session still in step after the refusal');

    const declared = await transfer(SMALL_IP, `MAIL FROM:<scanner@printer.local> SIZE=${message.length}`);
    assert.equal(declared.mail.code, 552, declared.mail.raw);
    assert.deepEqual(leadingEnhancedCodes(declared.mail.lines[0]!), ['5.3.4']);
    assert.equal((await relay.store.list({})).length, before);
  });

  test('the listener limit holds for a client that does not declare SIZE (552 for this port)', async () => {
    const before = (await relay.store.list({})).length;
    const r = await transfer(BIG_IP, 'MAIL FROM:<scanner@printer.local>', 'small-port');
    assert.ok(r.ehlo.lines.includes(`SIZE ${20 * 1024 * 1024}`), r.ehlo.raw);
    assert.equal(r.end?.code, 552, r.end?.raw);
    assert.match(r.end!.raw, /^552 5\.3\.4 Message too big for this port \(limit 20971520 bytes\)$/);
    assert.equal(r.noop?.code, 250);
    assert.equal((await relay.store.list({})).length, before);
  });

  test('a connection lost in the middle of DATA stores nothing and leaves no partial body', async () => {
    const before = (await relay.store.list({})).length;
    // Files with content: empty ones are the spool's ready-made files (see bodies.ts).
    const files = () => readdirSync(join(relay.dataDir, 'queue'), { recursive: true }).map(String)
      .filter((f) => !/queue\.db/.test(f) && statSync(join(relay.dataDir, 'queue', f)).isFile() && statSync(join(relay.dataDir, 'queue', f)).size > 0).sort();
    const filesBefore = files();
    const w = await SmtpWire.open(relay.port('plain'), { localAddress: BIG_IP });
    await w.cmd('EHLO scanner');
    await w.cmd('MAIL FROM:<scanner@printer.local>');
    await w.cmd('RCPT TO:<user@example.com>');
    assert.equal((await w.cmd('DATA')).code, 354);
    await new Promise<void>((r) => w.socket.write(message.subarray(0, 5 * 1024 * 1024), () => r()));
    w.close();
    const deadline = Date.now() + 5000;
    while (!relay.logs.some((l) => l.event === 'data-aborted') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    assert.ok(relay.logs.some((l) => l.event === 'data-aborted'), 'the relay noticed the aborted transfer');
    assert.equal((await relay.store.list({})).length, before);
    assert.deepEqual(files(), filesBefore, 'partial body left behind');
  });

  test('SIZE above the listener limit is refused by the listener (552, one enhanced code)', async () => {
    const w = await SmtpWire.open(relay.port('plain'), { localAddress: BIG_IP });
    try {
      await w.cmd('EHLO scanner');
      const r = await w.cmd(`MAIL FROM:<scanner@printer.local> SIZE=${60 * 1024 * 1024}`);
      assert.equal(r.code, 552, r.raw);
      assert.equal(leadingEnhancedCodes(r.lines[0]!).length, 1, r.raw);
    } finally {
      w.close();
    }
  });
});
