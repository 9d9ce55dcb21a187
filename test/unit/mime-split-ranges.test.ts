/**
 * The Graph large-message passes that cut byte ranges instead of parsing the
 * message again (split.ts, byte-ranges.ts, draft-tail.ts): the draft from the
 * removed parts' ranges, and from the message's first bytes plus the tail
 * recorded by the plan; a removed part from its body's range (base64 and
 * 8-bit); both compared with the mailsplit passes they replace, byte for
 * byte, at chunk sizes that cut lines, delimiters and base64 quads anywhere.
 * Also: the reading of a part stops at its end, and a store that holds fewer
 * bytes than planned fails the stream instead of sending a short body.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { draftStream, partStream, planSplit } from '../../src/deliver/microsoft/mime/split.js';
import { Base64Decode } from '../../src/deliver/microsoft/mime/byte-ranges.js';

const b64 = (data: Buffer) => (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');

/** A source in chunks of `size`, counting what was read. */
function chunks(message: Buffer, size: number, read = { bytes: 0 }): Readable {
  return Readable.from((function* () {
    for (let i = 0; i < message.length; i += size) {
      const c = message.subarray(i, i + size);
      read.bytes += c.length;
      yield c;
    }
  })());
}

const pdf = randomBytes(5_000_000);
const csv = Buffer.from('a,b,c\n1,2,3\n'.repeat(60_000), 'latin1');
const head = 'From: scan@contoso.com\r\nTo: alice@contoso.com\r\nSubject: scan\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n';
const text = '--b\r\nContent-Type: text/plain\r\n\r\nScanned document attached.\r\n';
const pdfPart = '--b\r\nContent-Type: application/pdf; name="scan.pdf"\r\nContent-Disposition: attachment; filename="scan.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n' + b64(pdf) + '\r\n';
const csvPart = '--b\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename="log.csv"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' + csv.toString('latin1') + '\r\n';
const end = '--b--\r\n';

/** A scan: text, then the PDF last (the common case: the draft's tail is recorded). */
const scan = Buffer.from(head + text + pdfPart + end, 'latin1');
/** The PDF, then a kept CSV after it: no tail; the draft is cut by ranges. */
const mixed = Buffer.from(head + text + pdfPart + '--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="note.txt"\r\n\r\nkept\r\n' + end, 'latin1');
/** Both attachments removed (an 8-bit one among them). */
const both = Buffer.from(head + text + pdfPart + csvPart + end, 'latin1');

describe('mime: byte-range passes of a large message', () => {
  for (const [name, message, limit] of [['a scan (tail recorded)', scan, 100_000], ['an attachment kept after the removed one', mixed, 100_000], ['two removed parts', both, 10_000]] as const) {
    test(`${name}: the draft and each part are the same as through mailsplit, at any chunk size`, async () => {
      const plan = await planSplit(chunks(message, 65_536), limit);
      assert.ok(plan.removed.length >= 1);
      assert.ok(plan.removed.every((r) => r.range && r.body), 'every removed part is placed');
      if (message === scan) assert.ok(plan.tail && plan.tail.bytes.toString('latin1') === '\r\n--b--\r\n', 'the tail is the closing boundary');
      if (message === mixed) assert.equal(plan.tail, undefined, 'a kept attachment after the removed one: no tail');
      const parsed = await buffer(draftStream(chunks(message, 4_093), plan.removed.map((r) => ({ index: r.index }))));
      for (const size of [1, 7, 4_093, 262_144]) {
        if (size === 1 && message.length > 1_000_000) continue;
        assert.ok((await buffer(draftStream(chunks(message, size), plan.removed, plan.total))).equals(parsed), `ranges, chunks of ${size}`);
        assert.ok((await buffer(draftStream(chunks(message, size), plan.removed, plan.total, plan.tail))).equals(parsed), `tail, chunks of ${size}`);
      }
      assert.equal(parsed.length, plan.draftSize);
      for (const part of plan.removed) {
        const viaParser = await buffer(partStream(chunks(message, 65_536), part.index));
        for (const size of [3, 4_093, 262_144]) {
          if (size === 3 && part.size > 1_000_000) continue;
          const fast = await buffer(partStream(chunks(message, size), part));
          assert.ok(fast.equals(viaParser), `${part.name}: same bytes, chunks of ${size}`);
        }
        assert.equal(viaParser.length, part.size);
      }
    });
  }

  test('the draft of a scan reads only up to the attachment; a part is read only up to its end', async () => {
    const plan = await planSplit(chunks(scan, 65_536), 100_000);
    const read = { bytes: 0 };
    await buffer(draftStream(chunks(scan, 16_384, read), plan.removed, plan.total, plan.tail));
    assert.ok(read.bytes < plan.tail!.prefixEnd + 2 * 16_384, `read ${read.bytes} of ${scan.length} bytes`);
    const m = Buffer.concat([scan.subarray(0, scan.length - end.length), Buffer.from(csvPart + end, 'latin1')]);
    const p2 = await planSplit(chunks(m, 65_536), 10_000);
    const pdfInfo = p2.removed.find((r) => r.name === 'scan.pdf')!;
    const read2 = { bytes: 0 };
    assert.ok((await buffer(partStream(chunks(m, 16_384, read2), pdfInfo))).equals(pdf));
    assert.ok(read2.bytes < pdfInfo.body!.end + 2 * 16_384, 'the CSV after the PDF was not read');
  });

  test('a stored message shorter than planned fails the draft and the part instead of ending early', async () => {
    const plan = await planSplit(chunks(mixed, 65_536), 100_000);
    const short = mixed.subarray(0, mixed.length - 100);
    await assert.rejects(buffer(draftStream(chunks(short, 65_536), plan.removed, plan.total)), /split plan counted/);
    const cut = scan.subarray(0, plan.removed[0]!.body!.end - 1000);
    await assert.rejects(buffer(partStream(chunks(cut, 65_536), plan.removed[0]!)), /before the part's end/);
  });

  test('base64 decoding skips line breaks and padding and counts like the plan', async () => {
    for (const n of [0, 1, 2, 3, 4, 5, 57, 58, 100_001]) {
      const data = randomBytes(n);
      const text64 = Buffer.from(b64(data));
      for (const size of [1, 3, 77, 65_536]) {
        const got = await buffer(chunks(text64, size).pipe(new Base64Decode()));
        assert.ok(got.equals(data), `${n} bytes in chunks of ${size}`);
      }
    }
  });
});
