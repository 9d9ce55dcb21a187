/**
 * Large-message split for Graph: which parts leave the draft, the draft MIME
 * byte for byte without them (multipart kept well formed), and each removed
 * part's decoded bytes (a 20 MB PDF-like scan, an inline image with its
 * Content-ID in multipart/related).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { draftStream, partStream, planSplit, SplitError } from '../../src/deliver/microsoft/mime/split.js';

function b64lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

/** A scan: 20 MB of PDF-like bytes (header, binary streams, trailer). */
function pdfLike(size: number): Buffer {
  const head = Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n', 'latin1');
  const tail = Buffer.from('\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n');
  return Buffer.concat([head, randomBytes(size - head.length - tail.length), tail]);
}

const pdf = pdfLike(20 * 1024 * 1024);
const image = randomBytes(1_200_000);
const small = randomBytes(40_000);

const textPart = '--outer\r\nContent-Type: multipart/related; boundary="rel"\r\n\r\n' +
  '--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>scan <img src="cid:logo@mfp"></p>\r\n';
const imagePart = '\r\n--rel\r\nContent-Type: image/png\r\nContent-ID: <logo@mfp>\r\nContent-Transfer-Encoding: base64\r\n\r\n' + b64lines(image);
const relEnd = '\r\n--rel--\r\n';
const pdfPart = '\r\n--outer\r\nContent-Type: application/pdf; name="scan 0001.pdf"\r\nContent-Disposition: attachment; filename="scan 0001.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n' + b64lines(pdf);
const smallPart = '\r\n--outer\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="log.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n' + b64lines(small);
const end = '\r\n--outer--\r\n';
const head = 'From: scan@contoso.com\r\nTo: alice@contoso.com\r\nSubject: scan\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="outer"\r\n\r\nThis is a multi-part message.\r\n';

const message = Buffer.from(head + textPart + imagePart + relEnd + pdfPart + smallPart + end, 'latin1');
const open = (chunk = 65_536) => Readable.from((function* () {
  for (let i = 0; i < message.length; i += chunk) yield message.subarray(i, i + chunk);
})());

const LIMIT = 3_096_576;

describe('mime: large message split', () => {
  test('a 20 MB attachment leaves the draft; the draft is the message without it, byte for byte', async () => {
    const plan = await planSplit(open(), LIMIT);
    assert.deepEqual(plan.removed.map((r) => r.name), ['scan 0001.pdf']);
    const pdfInfo = plan.removed[0]!;
    assert.equal(pdfInfo.size, pdf.length, 'decoded size exact');
    assert.equal(pdfInfo.contentType, 'application/pdf');
    assert.equal(pdfInfo.isInline, false);
    const draft = await buffer(draftStream(open(7_001), plan.removed));
    const expected = Buffer.from(head + textPart + imagePart + relEnd + smallPart + end, 'latin1');
    assert.equal(draft.length, plan.draftSize);
    assert.ok(draft.equals(expected), 'every kept byte as it was, the part and its delimiter gone');
    const got = await buffer(partStream(open(), pdfInfo.index));
    assert.ok(got.equals(pdf), 'the removed part decodes to the original bytes');
  });

  test('with a tighter limit the inline image leaves too, with its Content-ID and inline flag', async () => {
    const plan = await planSplit(open(), 400_000);
    assert.deepEqual(plan.removed.map((r) => r.contentType), ['image/png', 'application/pdf']);
    const img = plan.removed[0]!;
    assert.equal(img.contentId, 'logo@mfp');
    assert.equal(img.isInline, true);
    assert.equal(img.size, image.length);
    const draft = await buffer(draftStream(open(), plan.removed));
    assert.ok(draft.equals(Buffer.from(head + textPart + relEnd + smallPart + end, 'latin1')));
    assert.ok((await buffer(partStream(open(1_000), img.index))).equals(image));
  });

  test('a message that fits keeps every part', async () => {
    const plan = await planSplit(open(), message.length);
    assert.deepEqual(plan.removed, []);
    assert.equal(plan.draftSize, message.length);
  });

  test('quoted-printable and 8-bit parts: decoded sizes and bytes', async () => {
    const qp = 'caf=C3=A9 =\r\nsoft break\r\n';
    const m = Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n' +
      `--b\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=a.csv\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${qp}\r\n--b--\r\n`, 'latin1');
    const plan = await planSplit(Readable.from([m]), m.length - 10);
    assert.equal(plan.removed.length, 1);
    assert.equal(plan.removed[0]!.name, 'a.csv');
    const bytes = await buffer(partStream(Readable.from([m]), plan.removed[0]!.index));
    assert.equal(bytes.toString('utf8'), 'café soft break\r\n');
    assert.equal(plan.removed[0]!.size, bytes.length);
  });

  test('a single-part message over the limit cannot be split', async () => {
    const m = Buffer.concat([Buffer.from('Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n'), Buffer.from(b64lines(randomBytes(100_000)))]);
    await assert.rejects(planSplit(Readable.from([m]), 10_000), SplitError);
  });
});
