import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderBlock, addressInHeader, addressesInHeader, displayNameBytes, displayNameInHeader } from '../../src/receive/header-block.js';
import { HeaderStage } from '../../src/receive/header-stage.js';

test('parse and serialise is byte-exact, including folded and 8-bit fields', () => {
  const raw = Buffer.concat([
    Buffer.from('From: "Scanner" <scan@printer.local>\r\nSubject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\r\n'),
    Buffer.from([0x58, 0x2d, 0x52, 0x61, 0x77, 0x3a, 0x20, 0x83, 0x65, 0x83, 0x58, 0x0d, 0x0a]), // X-Raw: Shift_JIS bytes
    Buffer.from('To: a@b.example,\r\n\tc@d.example\r\n'),
  ]);
  const h = HeaderBlock.parse(raw);
  assert.equal(h.fields.length, 4);
  assert.deepEqual(h.toBuffer(), raw);
  assert.equal(h.value('to'), 'a@b.example,\tc@d.example');
});

test('addresses and display names are found in From values', () => {
  assert.equal(addressInHeader('"Scanner 3F" <scan@printer.local>'), 'scan@printer.local');
  assert.equal(addressInHeader('scan@printer.local (Scanner)'), 'scan@printer.local');
  assert.equal(addressInHeader('no address'), undefined);
  assert.equal(displayNameInHeader('"Scanner 3F" <scan@printer.local>'), '"Scanner 3F"');
  assert.equal(displayNameInHeader('<scan@printer.local>'), undefined);
});

test('every mailbox in a From value is found; quoted names and comments are not mailboxes', () => {
  assert.deepEqual(addressesInHeader('a@b.example, "Scan, 3F" <c@d.example>'), ['a@b.example', 'c@d.example']);
  assert.deepEqual(addressesInHeader('"x@evil.example" <c@d.example> (y@evil.example)'), ['c@d.example']);
  assert.deepEqual(addressesInHeader('undisclosed'), []);
});

test('display-name bytes are kept as sent (8-bit), trimmed, and refused when they hold an @', () => {
  const sjis = Buffer.from([0x83, 0x58, 0x83, 0x4c]);
  assert.deepEqual(displayNameBytes(Buffer.concat([Buffer.from(' '), sjis, Buffer.from('\r\n <a@b.example>')])), sjis);
  assert.equal(displayNameBytes(Buffer.from(' <a@b.example>')), undefined);
  assert.equal(displayNameBytes(Buffer.from(' a@b.example <a@b.example>')), undefined);
  assert.equal(displayNameBytes(Buffer.from(' a@b.example')), undefined);
});

async function stage(input: string[], edit: (h: HeaderBlock) => void): Promise<string> {
  const out: Buffer[] = [];
  const s = new HeaderStage(edit, (c) => out.push(Buffer.from(c)), 64);
  for (const x of input) s.write(Buffer.from(x));
  s.end();
  return Buffer.concat(out).toString();
}

test('header stage edits only the header section and streams the body', async () => {
  const out = await stage(['Subj', 'ect: hi\r\n', '\r\nbody\r\n', 'more\r\n'], (h) => h.prepend('Received', 'from x'));
  assert.equal(out, 'Received: from x\r\nSubject: hi\r\n\r\nbody\r\nmore\r\n');
});

test('header stage handles a message without header section and one without body', async () => {
  assert.equal(await stage(['\r\nbody\r\n'], (h) => h.prepend('Received', 'x')), 'Received: x\r\n\r\nbody\r\n');
  assert.equal(await stage(['Subject: only\r\n'], (h) => h.prepend('Received', 'x')), 'Received: x\r\nSubject: only\r\n');
});

test('header stage flags a header section over the limit', async () => {
  const out: Buffer[] = [];
  const s = new HeaderStage(() => undefined, (c) => out.push(c), 64);
  s.write(Buffer.from(`X: ${'a'.repeat(100)}\r\n`));
  s.end();
  assert.equal(s.tooBig, true);
  assert.equal(out.length, 0, 'nothing of it is passed on');
});

test('address parsing: quoted local parts keep their real domain; adversarial input stays linear', () => {
  assert.equal(addressInHeader('"x@allowed.example"@victim.example'), 'q@victim.example');
  assert.equal(addressInHeader('"Scanner, 3F" <scan@printer.local>'), 'scan@printer.local');
  assert.equal(addressInHeader(`<${'@'.repeat(200_000)}`), undefined);
  assert.equal(addressInHeader('a'.repeat(200_000)), undefined);
});
