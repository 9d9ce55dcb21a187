/**
 * Edge cases of the message as prepared for Graph: a message without a body
 * separator, bare-LF line endings, a header section as large as the receive
 * stage stores it and one larger than the reader takes, and the stored
 * message released however its stream ends.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { HeaderTooLargeError, MAX_HEADER_BYTES, parseFields } from '../../src/deliver/microsoft/mime/header-section.js';
import { partStream, planSplit } from '../../src/deliver/microsoft/mime/split.js';
import { prepareMessage } from '../../src/deliver/microsoft/mime/submission.js';
import { HeaderStage } from '../../src/receive/header-stage.js';

const b = (s: string) => Buffer.from(s, 'latin1');

/** A stored message as a stream in chunks of `size`, remembering whether it was released. */
function stored(data: Buffer, size = 64 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
  return Readable.from(chunks);
}

const settle = () => new Promise((r) => setTimeout(r, 50));

/** Header fields that add up to about `bytes`. */
function padding(bytes: number): Buffer {
  const line = `X-Pad: ${'p'.repeat(990)}\r\n`;
  return b(line.repeat(Math.ceil(bytes / line.length)));
}

describe('mime: a message without a body separator', () => {
  test('the last field without a line break: the Bcc field starts on its own line', async () => {
    const msg = b('From: scan@contoso.com\r\nTo: a@x.example\r\nSubject: no body');
    const p = await prepareMessage(stored(msg), msg.length, ['a@x.example', 'z@x.example']);
    const got = await buffer(p.stream);
    assert.equal(got.toString('latin1'), 'From: scan@contoso.com\r\nTo: a@x.example\r\nSubject: no body\r\nBcc: z@x.example\r\n');
    assert.equal(got.length, p.size);
  });

  test('all header, ending in CRLF: the fields are kept and the Bcc field is added', async () => {
    const msg = b('To: a@x.example, other@y.example\r\nSubject: s\r\n');
    const p = await prepareMessage(stored(msg), msg.length, ['a@x.example', 'z@x.example']);
    const got = await buffer(p.stream);
    assert.equal(got.toString('latin1'), 'To: a@x.example\r\nSubject: s\r\nBcc: z@x.example\r\n');
    assert.deepEqual(p.changes.removed, ['other@y.example']);
    assert.equal(got.length, p.size);
  });

  test('nothing to change: the bytes are passed as they are', async () => {
    const msg = b('To: a@x.example\r\nSubject: s');
    const p = await prepareMessage(stored(msg), msg.length, ['a@x.example']);
    assert.ok((await buffer(p.stream)).equals(msg));
  });
});

describe('mime: bare LF line endings', () => {
  const body = b('first line\n\nafter an empty line\nTo: not-a-header@y.example\n');
  const msg = Buffer.concat([b('From: scan@contoso.com\nTo: a@x.example,\n other@y.example\nSubject: scan\n\n'), body]);

  test('the header ends at the first empty line; fields written anew end in LF; the body is byte for byte', async () => {
    for (const size of [1, 7, 64 * 1024]) {
      const p = await prepareMessage(stored(msg, size), msg.length, ['a@x.example', 'z@x.example']);
      const got = await buffer(p.stream);
      assert.equal(got.length, p.size, `chunks of ${size}`);
      assert.deepEqual(p.changes.removed, ['other@y.example'], 'the To field was read, folded across an LF line');
      assert.deepEqual(p.changes.bcc, ['z@x.example']);
      assert.equal(got.toString('latin1'), `From: scan@contoso.com\nTo: a@x.example\nSubject: scan\nBcc: z@x.example\n\n${body.toString('latin1')}`);
    }
  });

  test('fields split at LF, folds kept', () => {
    const fields = parseFields(b('A: 1\nB: 2\n  more\nC: 3\n'));
    assert.deepEqual(fields.map((f) => f.raw.toString('latin1')), ['A: 1\n', 'B: 2\n  more\n', 'C: 3\n']);
  });

  test('an empty header section (the message starts with LF)', async () => {
    const m = b('\nbody only\n');
    const p = await prepareMessage(stored(m), m.length, ['z@x.example']);
    assert.equal((await buffer(p.stream)).toString('latin1'), 'Bcc: z@x.example\n\nbody only\n');
  });
});

describe('mime: large header sections', () => {
  test('a header section over 1 MiB (refused by the receive stage now, stored by older versions) is prepared', async () => {
    // The receive stage refuses a header section over 1 MiB however it is chunked. Before that
    // was made exact, one that passed 1 MiB in the chunk that also ended it was stored, and such
    // a message may still be in a spool.
    const stage = new HeaderStage(() => undefined, () => undefined);
    const first = padding(1024 * 1024 - 2_000);
    const second = Buffer.concat([padding(60_000), b('To: a@x.example\r\n\r\nbody\r\n')]);
    stage.write(first);
    stage.write(second);
    stage.end();
    assert.equal(stage.tooBig, true);
    const msg = Buffer.concat([first, second]);
    assert.ok(msg.indexOf('\r\n\r\n') > 1024 * 1024, 'the header section is over 1 MiB');

    // Whatever the chunks the spool reads in (a file in 256 KiB, other stores in other sizes).
    for (const size of [7_001, 256 * 1024]) {
      const p = await prepareMessage(stored(msg, size), msg.length, ['a@x.example', 'z@x.example']);
      const got = await buffer(p.stream);
      assert.equal(got.length, p.size);
      assert.ok(got.subarray(got.length - 8).equals(b('\r\nbody\r\n')));
      assert.deepEqual(p.changes.bcc, ['z@x.example']);
    }
  });

  test('a header section over the reader\'s limit: HeaderTooLargeError, and the stored message is released', async () => {
    const msg = Buffer.concat([padding(MAX_HEADER_BYTES + 200_000), b('\r\nbody\r\n')]);
    const source = stored(msg);
    await assert.rejects(prepareMessage(source, msg.length, ['a@x.example']), HeaderTooLargeError);
    await settle();
    assert.equal(source.destroyed, true);
  });
});

describe('mime: the stored message is released', () => {
  test('when the prepared stream is given up before it is read', async () => {
    const msg = Buffer.concat([b('To: a@x.example\r\n\r\n'), randomBytes(1024 * 1024)]);
    const source = stored(msg);
    const p = await prepareMessage(source, msg.length, ['a@x.example']);
    p.stream.destroy();
    await settle();
    assert.equal(source.destroyed, true);
  });

  test('when a part being uploaded is given up half way', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const b64 = (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
    const msg = b('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nscan\r\n' +
      `--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=scan.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--b--\r\n`);
    const plan = await planSplit(stored(msg), 1_000);
    const source = stored(msg);
    const part = partStream(source, plan.removed[0]!.index);
    for await (const chunk of part as AsyncIterable<Buffer>) {
      assert.ok(chunk.length > 0);
      break; // the upload failed after its first chunk
    }
    await settle();
    assert.equal(part.destroyed, true);
    assert.equal(source.destroyed, true, 'the stored message is not held open by a reader that left');
  });
});
