/**
 * The PROXY protocol parser (src/receive/proxy-protocol.ts) against the
 * HAProxy specification: v1 text lines and v2 binary headers given as literal
 * bytes (written out by hand from the specification, not made by the code
 * under test), every prefix of a valid header read as incomplete, and every
 * way a header can be malformed refused. readProxyHeader on a real socket:
 * a header in pieces, the bytes after it left for the next reader, a deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { parseProxyHeader, readProxyHeader, ProxyHeaderError, V1_MAX_LENGTH, type ProxyParseResult } from '../../src/receive/proxy-protocol.js';

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const ascii = (s: string) => Buffer.from(s, 'latin1');

// v2, PROXY, TCP over IPv4: 192.0.2.10:51234 -> 203.0.113.5:25, no TLVs.
const V2_TCP4 = hex(`0d0a0d0a000d0a515549540a 21 11 000c  c000020a cb007105  c822 0019`);
// v2, PROXY, TCP over IPv6: [2001:db8::1]:4321 -> [2001:db8::25]:587, then three TLVs:
// ALPN "smtp", an AWS VPC endpoint id (type 0xEA, subtype 1) and an empty NOOP.
const V2_TCP6_TLVS = hex(`0d0a0d0a000d0a515549540a 21 21 0048
  20010db8000000000000000000000001 20010db8000000000000000000000025 10e1 024b
  01 0004 736d7470
  ea 0017 01 767063652d3031323334353637383961626364656630
  04 0000`);
// v2, LOCAL (a health check by the proxy itself), family UNSPEC, no address block.
const V2_LOCAL = hex(`0d0a0d0a000d0a515549540a 20 00 0000`);
// v2, PROXY, IPv6 with IPv4-mapped addresses: ::ffff:198.51.100.7:40000 -> ::ffff:10.0.0.1:465.
const V2_MAPPED = hex(`0d0a0d0a000d0a515549540a 21 21 0024
  00000000000000000000ffffc6336407 00000000000000000000ffff0a000001 9c40 01d1`);
// v2, PROXY, UNSPEC family: the receiver uses the connection's own addresses.
const V2_UNSPEC = hex(`0d0a0d0a000d0a515549540a 21 00 0000`);

function header(r: ProxyParseResult) {
  assert.equal(r.kind, 'header', JSON.stringify(r));
  return r as Extract<ProxyParseResult, { kind: 'header' }>;
}

function invalid(r: ProxyParseResult, reason?: RegExp): void {
  assert.equal(r.kind, 'invalid', JSON.stringify(r));
  if (reason) assert.match((r as { reason: string }).reason, reason);
}

test('v1 TCP4 and TCP6: addresses and ports, the length of the line, bytes after it not taken', () => {
  const line = 'PROXY TCP4 198.51.100.7 10.0.0.1 40000 25\r\n';
  const r = header(parseProxyHeader(ascii(`${line}EHLO x\r\n`)));
  assert.equal(r.length, line.length);
  assert.deepEqual(r.header, { version: 1, command: 'proxy', source: { address: '198.51.100.7', port: 40000 }, destination: { address: '10.0.0.1', port: 25 } });

  const six = header(parseProxyHeader(ascii('PROXY TCP6 2001:DB8:0:0:0:0:0:1 2001:db8::25 0 65535\r\n')));
  assert.deepEqual(six.header.source, { address: '2001:db8::1', port: 0 }, 'canonical text of the address');
  assert.deepEqual(six.header.destination, { address: '2001:db8::25', port: 65535 });

  const mapped = header(parseProxyHeader(ascii('PROXY TCP6 ::ffff:198.51.100.7 ::1 1 2\r\n')));
  assert.equal(mapped.header.source?.address, '198.51.100.7', 'an IPv4-mapped address is the IPv4 address');
});

test('v1 UNKNOWN: no address (the connection\'s own is used), anything up to CRLF ignored', () => {
  assert.deepEqual(header(parseProxyHeader(ascii('PROXY UNKNOWN\r\n'))).header, { version: 1, command: 'proxy' });
  const r = header(parseProxyHeader(ascii('PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\nrest')));
  assert.equal(r.length, 'PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n'.length);
  assert.equal(r.header.source, undefined);
});

test('v1: the longest header (107 bytes) is read; one byte more without CRLF is refused', () => {
  const max = `PROXY UNKNOWN ${'x'.repeat(V1_MAX_LENGTH - 'PROXY UNKNOWN '.length - 2)}\r\n`;
  assert.equal(max.length, 107);
  assert.equal(header(parseProxyHeader(ascii(max))).length, 107);
  invalid(parseProxyHeader(ascii(`PROXY UNKNOWN ${'x'.repeat(V1_MAX_LENGTH - 'PROXY UNKNOWN '.length)}\r\n`)), /longer than 107/);
  // Refused as soon as 107 bytes have come without a line end, not later.
  invalid(parseProxyHeader(ascii(`PROXY UNKNOWN ${'x'.repeat(93)}`)), /longer than 107/);
  assert.equal(parseProxyHeader(ascii(`PROXY UNKNOWN ${'x'.repeat(92)}`)).kind, 'incomplete');
});

test('v1: every malformed line is refused', () => {
  const bad: [string, RegExp?][] = [
    ['proxy TCP4 198.51.100.7 10.0.0.1 40000 25\r\n', /did not start with a PROXY protocol header/],
    ['PROXy TCP4 198.51.100.7 10.0.0.1 40000 25\r\n', /must start with "PROXY "/],
    ['PROXY\r\n', /must start with "PROXY "/],
    ['PROXY TCP4 198.51.100.7 10.0.0.1 40000 25\n', /CRLF/],
    ['PROXY TCP4  198.51.100.7 10.0.0.1 40000 25\r\n', /single spaces/],
    ['PROXY TCP4 198.51.100.7 10.0.0.1 40000 25 \r\n', /single spaces/],
    ['PROXY TCP4 198.51.100.7 10.0.0.1 40000\r\n', /single spaces/],
    ['PROXY TCP5 198.51.100.7 10.0.0.1 40000 25\r\n', /not TCP4, TCP6 or UNKNOWN/],
    ['PROXY tcp4 198.51.100.7 10.0.0.1 40000 25\r\n', /not TCP4, TCP6 or UNKNOWN/],
    ['PROXY TCP4 2001:db8::1 10.0.0.1 40000 25\r\n', /not an IPv4 address/],
    ['PROXY TCP6 198.51.100.7 2001:db8::1 40000 25\r\n', /not an IPv6 address/],
    ['PROXY TCP6 fe80::1%eth0 2001:db8::1 40000 25\r\n', /not an IPv6 address/],
    ['PROXY TCP4 198.51.100.007 10.0.0.1 40000 25\r\n', /not an IPv4 address/],
    ['PROXY TCP4 198.51.100.7 10.0.0.1 65536 25\r\n', /port/],
    ['PROXY TCP4 198.51.100.7 10.0.0.1 040000 25\r\n', /port/],
    ['PROXY TCP4 198.51.100.7 10.0.0.1 -1 25\r\n', /port/],
    ['PROXY TCP4 198.51.100.7 10.0.0.1 4e4 25\r\n', /port/],
    ['PROXY TCP4 198.51.100.7\r10.0.0.1 40000 25\r\n', /CR not followed by LF|control/],
    ['PROXY TCP4 198.51.100.7\t10.0.0.1 40000 25\r\n', /control/],
    ['PROXY UNKNOWN caf\u00e9\r\n', /non-ASCII/],
    ['EHLO client.example\r\n', /did not start with a PROXY protocol header/],
    ['\x16\x03\x01\x02\x00', /did not start with a PROXY protocol header/],
  ];
  for (const [line, reason] of bad) invalid(parseProxyHeader(ascii(line)), reason);
  // A wrong byte is seen at once, before the line is complete.
  invalid(parseProxyHeader(ascii('PROXI')));
  invalid(parseProxyHeader(ascii('PROXY TCP4 1.2.3.4\rX')), /CR not followed by LF/);
});

test('v2 TCP4: addresses and ports from the binary block', () => {
  const r = header(parseProxyHeader(Buffer.concat([V2_TCP4, ascii('EHLO x\r\n')])));
  assert.equal(r.length, 28);
  assert.deepEqual(r.header, { version: 2, command: 'proxy', source: { address: '192.0.2.10', port: 51234 }, destination: { address: '203.0.113.5', port: 25 } });
});

test('v2 TCP6 with TLVs: the TLVs are skipped and counted in the length', () => {
  const r = header(parseProxyHeader(Buffer.concat([V2_TCP6_TLVS, hex('160301')])));
  assert.equal(r.length, 88);
  assert.deepEqual(r.header, { version: 2, command: 'proxy', source: { address: '2001:db8::1', port: 4321 }, destination: { address: '2001:db8::25', port: 587 } });
});

test('v2 IPv4-mapped IPv6 addresses are IPv4 addresses; LOCAL and UNSPEC carry no address', () => {
  assert.deepEqual(header(parseProxyHeader(V2_MAPPED)).header.source, { address: '198.51.100.7', port: 40000 });
  assert.deepEqual(header(parseProxyHeader(V2_LOCAL)), { kind: 'header', header: { version: 2, command: 'local' }, length: 16 });
  assert.deepEqual(header(parseProxyHeader(V2_UNSPEC)), { kind: 'header', header: { version: 2, command: 'proxy' }, length: 16 });
  // LOCAL skips whatever address block the proxy sent with it.
  const localWithBlock = Buffer.from(V2_TCP4);
  localWithBlock[12] = 0x20;
  assert.deepEqual(header(parseProxyHeader(localWithBlock)), { kind: 'header', header: { version: 2, command: 'local' }, length: 28 });
});

test('every prefix of a valid header is incomplete, never a header or a refusal', () => {
  for (const full of [V2_TCP4, V2_TCP6_TLVS, V2_LOCAL, ascii('PROXY TCP6 2001:db8::1 2001:db8::25 4321 587\r\n')]) {
    for (let n = 0; n < full.length; n++) assert.equal(parseProxyHeader(full.subarray(0, n)).kind, 'incomplete', `${n} of ${full.length} bytes`);
    assert.equal(parseProxyHeader(full).kind, 'header');
  }
});

test('v2: every malformed header is refused', () => {
  const with_ = (at: number, value: number, base = V2_TCP4) => {
    const b = Buffer.from(base);
    b[at] = value;
    return b;
  };
  invalid(parseProxyHeader(with_(11, 0x0b)), /signature/);
  invalid(parseProxyHeader(with_(12, 0x11)), /version 1 \(must be 2\)/);
  invalid(parseProxyHeader(with_(12, 0x31)), /version 3/);
  invalid(parseProxyHeader(with_(12, 0x22)), /command 2/);
  invalid(parseProxyHeader(with_(13, 0x13)), /0x13 is not defined/);
  invalid(parseProxyHeader(with_(13, 0x41)), /0x41 is not defined/);
  invalid(parseProxyHeader(with_(13, 0x10)), /0x10 is not defined/);
  invalid(parseProxyHeader(with_(13, 0x12)), /UDP/);
  // IPv6 needs 36 bytes of addresses; a block of 12 is too short for it.
  invalid(parseProxyHeader(with_(13, 0x21)), /shorter than the 36/);
  // A TLV that claims more bytes than the block has, and one cut after its type.
  invalid(parseProxyHeader(hex(`0d0a0d0a000d0a515549540a 21 11 0010  c000020a cb007105 c822 0019  01 0005 6869`)), /TLV longer/);
  invalid(parseProxyHeader(hex(`0d0a0d0a000d0a515549540a 21 11 000e  c000020a cb007105 c822 0019  01 00`)), /inside a TLV/);
  // The signature is checked byte by byte as it arrives.
  invalid(parseProxyHeader(hex('0d0a0d0a01')));
  invalid(parseProxyHeader(hex('0d0a0d0a000d0a5155495420')));
});

/** A connected pair of real TCP sockets: [client, server side]. */
async function socketPair(): Promise<[Socket, Socket, () => void]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  const side = await accepted;
  return [client, side, () => {
    client.destroy();
    side.destroy();
    server.close();
  }];
}

async function readSome(s: Socket, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  for await (const c of s) {
    parts.push(c as Buffer);
    got += (c as Buffer).length;
    if (got >= n) break;
  }
  return Buffer.concat(parts);
}

test('readProxyHeader: a v2 header arriving in pieces, with the first SMTP bytes in the same segment as its end', async () => {
  const [client, side, done] = await socketPair();
  try {
    const reading = readProxyHeader(side, 5_000);
    client.write(V2_TCP6_TLVS.subarray(0, 5));
    await new Promise((r) => setTimeout(r, 30));
    client.write(V2_TCP6_TLVS.subarray(5, 40));
    await new Promise((r) => setTimeout(r, 30));
    client.write(Buffer.concat([V2_TCP6_TLVS.subarray(40), ascii('EHLO client\r\n')]));
    const h = await reading;
    assert.deepEqual(h.source, { address: '2001:db8::1', port: 4321 });
    assert.equal((await readSome(side, 13)).toString('latin1'), 'EHLO client\r\n', 'the bytes after the header are left for the session');
  } finally {
    done();
  }
});

test('readProxyHeader: garbage is refused at once, silence after the deadline, a close before the end is reported', async () => {
  {
    const [client, side, done] = await socketPair();
    try {
      const started = Date.now();
      const reading = readProxyHeader(side, 5_000);
      client.write('EHLO client\r\n');
      await assert.rejects(reading, (e: ProxyHeaderError) => e.reason === 'invalid');
      assert.ok(Date.now() - started < 1_000);
    } finally {
      done();
    }
  }
  {
    const [client, side, done] = await socketPair();
    try {
      const started = Date.now();
      client.write('PROXY TCP4 198.51.100.7');
      await assert.rejects(readProxyHeader(side, 300), (e: ProxyHeaderError) => e.reason === 'timeout' && /within 300 ms/.test(e.message));
      assert.ok(Date.now() - started >= 290);
    } finally {
      done();
    }
  }
  {
    const [client, side, done] = await socketPair();
    try {
      const reading = readProxyHeader(side, 5_000);
      client.end(V2_TCP4.subarray(0, 20));
      await assert.rejects(reading, (e: ProxyHeaderError) => e.reason === 'closed');
    } finally {
      done();
    }
  }
});
