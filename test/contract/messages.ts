/**
 * The messages the transport contract sends: stored messages as the
 * scheduler hands them over, with bodies that are plain or awkward (dots,
 * 8-bit bytes, long lines) and given in awkward chunk sizes.
 */
import { Readable } from 'node:stream';
import type { OutboundMessage } from '../../src/deliver/transport.js';

let counter = 0;

/** A stored message as the scheduler hands it over; the body is given in awkward chunk sizes. */
export function outbound(o: { sender?: string; recipients: string[]; body?: Buffer; chunk?: number; openBody?: () => Readable }): OutboundMessage {
  const body = o.body ?? simpleBody();
  const chunk = o.chunk ?? 7_001;
  return {
    id: `CONTRACT${++counter}`,
    sender: o.sender ?? 'scanner@contoso.com',
    recipients: o.recipients,
    size: body.length,
    device: 'contract',
    openBody: o.openBody ?? (() => Readable.from(chunks(body, chunk))),
  };
}

export function* chunks(b: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

export function simpleBody(extra = ''): Buffer {
  return Buffer.from(
    'From: Scanner <scanner@contoso.com>\r\nTo: alice@contoso.com\r\nSubject: contract\r\n' +
      `Message-ID: <m${counter}@contoso.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello${extra}\r\n`,
  );
}

/** A body that exercises dot-stuffing, 8-bit bytes, long lines and chunk boundaries. */
export function awkwardBody(): Buffer {
  const parts: Buffer[] = [
    Buffer.from('Received: from mfp ([192.0.2.7])\r\n\tby relay.test (authrelay) with ESMTP id X;\r\n\tMon, 1 Jan 2024 00:00:00 +0000\r\n'),
    Buffer.from('From: =?UTF-8?B?5aSa5qmf6IO9?= <scanner@contoso.com>\r\nTo: alice@contoso.com\r\nSubject: scan\r\n'),
    Buffer.from('MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'),
    Buffer.from('.a line that starts with a dot\r\n.\r\n..two dots\r\n. space after dot\r\n'),
    Buffer.from('スキャンした文書です。\r\n', 'utf8'),
    Buffer.from([0xe9, 0xe8, 0x20, 0xff, 0x0d, 0x0a]),
    Buffer.from(`${'x'.repeat(990)}\r\n`),
  ];
  for (let i = 0; i < 4000; i++) parts.push(Buffer.from(i % 17 === 0 ? `.line ${i}\r\n` : `line ${i} ${'y'.repeat(i % 60)}\r\n`));
  parts.push(Buffer.from('last line\r\n'));
  return Buffer.concat(parts);
}
