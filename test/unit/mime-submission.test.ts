/**
 * The header rewrite for Graph submission: Bcc from the envelope, header
 * recipients that are not in the envelope taken out, raw 8-bit and
 * ISO-2022-JP header text repaired into encoded words in its own charset,
 * everything else byte for byte (compared as bytes).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { parseFields } from '../../src/deliver/microsoft/mime/header-section.js';
import { prepareHeader, prepareMessage } from '../../src/deliver/microsoft/mime/submission.js';
import { parseAddressList, mailboxes } from '../../src/deliver/microsoft/mime/address-list.js';
import { detectCharset, encodeWords } from '../../src/deliver/microsoft/mime/encoded-words.js';

const b = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

// スキャン文書 ("scanned document") as Japanese devices send it.
const SJIS = [0x83, 0x58, 0x83, 0x4c, 0x83, 0x83, 0x83, 0x93, 0x95, 0xb6, 0x8f, 0x91];
const EUC = [0xa5, 0xb9, 0xa5, 0xad, 0xa5, 0xe3, 0xa5, 0xf3, 0xca, 0xb8, 0xbd, 0xf1];
const JIS = [0x1b, 0x24, 0x42, 0x25, 0x39, 0x25, 0x2d, 0x25, 0x63, 0x25, 0x73, 0x4a, 0x38, 0x3d, 0x71, 0x1b, 0x28, 0x42];
const TEXT = 'スキャン文書';

/** Decodes a field value made of encoded words (each decoded on its own, as RFC 2047 requires). */
function decodeWords(value: string): { text: string; charsets: string[]; bytes: Buffer } {
  const charsets: string[] = [];
  const bytes: Buffer[] = [];
  const text = value.replace(/\r\n /g, ' ').replace(/\?= =\?/g, '?==?').replace(/=\?([^?]+)\?B\?([^?]*)\?=/g, (_m, cs: string, data: string) => {
    charsets.push(cs);
    const raw = Buffer.from(data, 'base64');
    bytes.push(raw);
    return new TextDecoder(cs).decode(raw);
  });
  return { text, charsets, bytes: Buffer.concat(bytes) };
}

function field(head: Buffer, name: string): string | undefined {
  const f = parseFields(head).find((x) => x.name.toLowerCase() === name.toLowerCase());
  return f ? f.raw.toString('latin1').slice(f.name.length + 1).replace(/\r\n$/, '').trim() : undefined;
}

describe('mime: samples are what they claim to be', () => {
  test('the Japanese byte samples decode to the same text', () => {
    assert.equal(new TextDecoder('shift_jis', { fatal: true }).decode(Buffer.from(SJIS)), TEXT);
    assert.equal(new TextDecoder('euc-jp', { fatal: true }).decode(Buffer.from(EUC)), TEXT);
    assert.equal(new TextDecoder('iso-2022-jp', { fatal: true }).decode(Buffer.from(JIS)), TEXT);
  });
});

describe('mime: recipients for Graph', () => {
  const base = b('Received: from mfp\r\n\tby relay; Mon, 1 Jan 2024 00:00:00 +0000\r\n', 'From: Scanner <scan@contoso.com>\r\n',
    'To: "Smith, Alice" <alice@contoso.com>, bob@contoso.com (Bob)\r\n', 'Cc: carol@contoso.com\r\n', 'Subject: scan\r\n', 'X-Custom:  odd   spacing \r\n');

  test('envelope recipients not in To/Cc go into Bcc; every other field byte for byte', () => {
    const { head, changes } = prepareHeader(parseFields(base), ['alice@contoso.com', 'bob@contoso.com', 'carol@contoso.com', 'dave@fabrikam.com', 'Erin@Northwind.example']);
    assert.deepEqual(changes.bcc, ['dave@fabrikam.com', 'Erin@Northwind.example']);
    assert.ok(head.equals(Buffer.concat([base, Buffer.from('Bcc: dave@fabrikam.com, Erin@Northwind.example\r\n')])), head.toString('latin1'));
  });

  test('a Bcc field sent by the device is replaced', () => {
    const h = b('To: alice@contoso.com\r\nBcc: old@contoso.com,\r\n other@contoso.com\r\nSubject: x\r\n');
    const { head } = prepareHeader(parseFields(h), ['alice@contoso.com', 'new@contoso.com']);
    assert.equal(head.toString('latin1'), 'To: alice@contoso.com\r\nSubject: x\r\nBcc: new@contoso.com\r\n');
  });

  test('a header address that is not an envelope recipient is taken out; its neighbours keep their text', () => {
    const { head, changes } = prepareHeader(parseFields(base), ['ALICE@contoso.com', 'carol@contoso.com']);
    assert.deepEqual(changes.removed, ['bob@contoso.com']);
    assert.equal(field(head, 'To'), '"Smith, Alice" <alice@contoso.com>');
    assert.equal(field(head, 'Cc'), 'carol@contoso.com');
    assert.equal(field(head, 'Bcc'), undefined, 'an envelope recipient in To with other case is not added again');
  });

  test('To left empty becomes undisclosed-recipients; an empty Cc goes; Bcc-only envelope', () => {
    const { head, changes } = prepareHeader(parseFields(base), ['hidden@fabrikam.com']);
    assert.equal(field(head, 'To'), 'undisclosed-recipients:;');
    assert.equal(field(head, 'Cc'), undefined);
    assert.equal(field(head, 'Bcc'), 'hidden@fabrikam.com');
    assert.deepEqual(changes.removed.sort(), ['alice@contoso.com', 'bob@contoso.com', 'carol@contoso.com']);
  });

  test('groups, quoted local parts, RFC 2047 names and source routes are read as addresses', () => {
    const list = parseAddressList('Team: =?UTF-8?B?5aSa?= <a@x.example>, "b c"@x.example;, "Doe, J" <@r1,@r2:j@y.example>, plain@z.example (Plain, Name)');
    assert.deepEqual(mailboxes(list).map((m) => m.address), ['a@x.example', '"b c"@x.example', 'j@y.example', 'plain@z.example']);
    const h = b('To: Team: a@x.example, "b.c"@x.example;, other@x.example\r\n');
    const { head } = prepareHeader(parseFields(h), ['b.c@x.example']);
    assert.equal(field(head, 'To'), 'Team: "b.c"@x.example;', 'a quoted local part that needs no quotes matches the envelope');
  });

  test('SMTPUTF8 addresses: raw UTF-8 in To is matched; a UTF-8 envelope recipient goes into Bcc as UTF-8', () => {
    const h = b('To: ', [...Buffer.from('José <josé@correo.example>', 'utf8')], '\r\n');
    const { head, changes } = prepareHeader(parseFields(h), ['josé@correo.example', 'zoë@correo.example']);
    assert.deepEqual(changes.bcc, ['zoë@correo.example']);
    assert.ok(head.includes(Buffer.from('Bcc: zoë@correo.example\r\n', 'utf8')));
    assert.ok(head.includes(Buffer.from('<josé@correo.example>', 'utf8')), 'the address itself is never encoded');
  });
});

describe('mime: raw 8-bit header repair', () => {
  for (const [label, bytes, charset] of [['Shift_JIS', SJIS, 'Shift_JIS'], ['EUC-JP', EUC, 'EUC-JP'], ['UTF-8', [...Buffer.from(TEXT, 'utf8')], 'UTF-8']] as const) {
    test(`a ${label} Subject keeps its bytes under the ${charset} label`, () => {
      const h = b('Subject: Re: ', [...bytes], ' 2024\r\nTo: a@x.example\r\n');
      const { head, changes } = prepareHeader(parseFields(h), ['a@x.example']);
      assert.deepEqual(changes.repaired, ['Subject']);
      const subject = field(head, 'Subject')!;
      assert.ok(/^[\x20-\x7e\r\n]*$/.test(subject), 'the repaired field is ASCII');
      assert.ok(subject.startsWith('Re: =?'), 'ASCII words before stay as they are');
      const d = decodeWords(subject);
      assert.equal(d.text, `Re: ${TEXT} 2024`);
      assert.deepEqual([...new Set(d.charsets)], [charset]);
      assert.ok(d.bytes.equals(Buffer.from(bytes)), 'no transcoding: the device bytes, base64-wrapped');
      assert.ok(head.toString('latin1').endsWith('To: a@x.example\r\n'));
    });
  }

  test('raw ISO-2022-JP escapes in Subject become ISO-2022-JP encoded words', () => {
    const h = b('Subject: ', JIS, '\r\n');
    const { head } = prepareHeader(parseFields(h), []);
    const d = decodeWords(field(head, 'Subject')!);
    assert.deepEqual(d.charsets, ['ISO-2022-JP']);
    assert.equal(d.text, TEXT);
    assert.ok(d.bytes.equals(Buffer.from(JIS)));
  });

  test('a long ISO-2022-JP run is cut into words that each start and end in ASCII mode', () => {
    const run = [0x1b, 0x24, 0x42, ...Array.from({ length: 40 }, () => [0x25, 0x39]).flat(), 0x1b, 0x28, 0x42];
    const words = encodeWords(Buffer.from(run), 'ISO-2022-JP');
    assert.ok(words.length > 1);
    let text = '';
    for (const w of words) {
      assert.ok(w.length <= 75, `${w.length} chars`);
      const raw = Buffer.from(/\?B\?(.*)\?=$/.exec(w)![1]!, 'base64');
      assert.deepEqual([...raw.subarray(0, 3)], [0x1b, 0x24, 0x42]);
      assert.deepEqual([...raw.subarray(-3)], [0x1b, 0x28, 0x42]);
      text += new TextDecoder('iso-2022-jp', { fatal: true }).decode(raw);
    }
    assert.equal(text, 'ス'.repeat(40));
  });

  test('long Shift_JIS text: words of at most 75 chars, never splitting a character', () => {
    const long = Buffer.from(Array.from({ length: 10 }, () => SJIS).flat());
    const words = encodeWords(long, 'Shift_JIS');
    assert.ok(words.every((w) => w.length <= 75));
    const text = words.map((w) => new TextDecoder('shift_jis', { fatal: true }).decode(Buffer.from(/\?B\?(.*)\?=$/.exec(w)![1]!, 'base64'))).join('');
    assert.equal(text, TEXT.repeat(10));
  });

  test('display names in From and To are repaired, addresses are not; quoted names are unquoted first', () => {
    const h = b('From: "', SJIS, '" <scan@contoso.com>\r\n', 'To: ', JIS, ' <a@x.example>, b@x.example\r\n', 'Subject: plain\r\n');
    const { head, changes } = prepareHeader(parseFields(h), ['a@x.example', 'b@x.example']);
    assert.deepEqual(changes.repaired, ['From', 'To']);
    const from = field(head, 'From')!;
    assert.match(from, /^=\?Shift_JIS\?B\?[A-Za-z0-9+/=]+\?= <scan@contoso\.com>$/);
    assert.equal(decodeWords(from.replace(/ <.*/, '')).text, TEXT);
    const to = field(head, 'To')!;
    assert.match(to, /^=\?ISO-2022-JP\?B\?.*\?= <a@x\.example>, b@x\.example$/);
    assert.ok(head.includes(Buffer.from('Subject: plain\r\n')));
  });

  test('the body charset decides between Japanese charsets; it never relabels valid UTF-8', () => {
    assert.equal(detectCharset(Buffer.from(SJIS), 'shift_jis'), 'Shift_JIS');
    assert.equal(detectCharset(Buffer.from(EUC)), 'EUC-JP');
    assert.equal(detectCharset(Buffer.from(SJIS)), 'Shift_JIS');
    assert.equal(detectCharset(Buffer.from(TEXT, 'utf8'), 'shift_jis'), 'UTF-8');
    assert.equal(detectCharset(Buffer.from([0xe9, 0x74, 0xe9]), 'iso-8859-1'), 'iso-8859-1');
  });
});

describe('mime: the prepared message stream', () => {
  test('header changed, body byte for byte (8-bit, dots, no final newline), size exact', async () => {
    const body = b('\r\n', '.dot\r\n', [0xff, 0x00, 0x80], '\r\nlast');
    const stored = Buffer.concat([b('To: a@x.example\r\nSubject: s\r\n'), body]);
    const p = await prepareMessage(Readable.from([stored.subarray(0, 5), stored.subarray(5, 40), stored.subarray(40)]), stored.length, ['a@x.example', 'z@x.example']);
    const got = await buffer(p.stream);
    assert.equal(got.length, p.size);
    assert.ok(got.equals(Buffer.concat([b('To: a@x.example\r\nSubject: s\r\nBcc: z@x.example\r\n'), body])));
  });

  test('message/partial is passed through and flagged', async () => {
    const stored = b('To: a@x.example\r\nContent-Type: message/partial; id="abc@x"; number=1; total=2\r\n\r\npart one\r\n');
    const p = await prepareMessage(Readable.from([stored]), stored.length, ['a@x.example']);
    assert.equal(p.changes.partial, true);
    assert.ok((await buffer(p.stream)).equals(stored));
  });

  test('a stored size that does not match the bytes makes the stream fail', async () => {
    const stored = b('To: a@x.example\r\n\r\nbody\r\n');
    const p = await prepareMessage(Readable.from([stored]), stored.length + 10, ['a@x.example']);
    await assert.rejects(buffer(p.stream), /shorter than its recorded size/);
  });
});
