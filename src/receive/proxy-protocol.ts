/**
 * The PROXY protocol (HAProxy, versions 1 and 2): the header a TCP load
 * balancer sends before the client's first byte, carrying the client's
 * address. Parsed strictly by the specification
 * (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt):
 *
 *  - v1: one text line `PROXY TCP4|TCP6|UNKNOWN ...\r\n` of at most 107 bytes,
 *    fields separated by single spaces, addresses in their usual text form,
 *    ports 0-65535 without leading zeros;
 *  - v2: the 12-byte signature, version 2 with command LOCAL or PROXY, one of
 *    the listed family/transport bytes, a length, the addresses, then TLVs
 *    (checked for shape and skipped).
 *
 * A header without a usable client address (v1 UNKNOWN, v2 LOCAL, v2 UNSPEC or
 * UNIX) means "use the connection's own addresses", as the specification says.
 * A connection over UDP (v2 DGRAM) is refused: SMTP is a stream.
 *
 * `parseProxyHeader` works on whatever has arrived so far and says whether the
 * header is complete, still incomplete, or invalid; `readProxyHeader` reads one
 * header from a socket with a deadline and leaves the bytes after it unread.
 */
import type { Socket } from 'node:net';
import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';
import { normaliseIp } from '../core/net.js';

/** The longest v1 header, CRLF included. */
export const V1_MAX_LENGTH = 107;
/** The v2 signature: \r\n\r\n\0\r\nQUIT\n. */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V2_FIXED = 16;

export interface ProxyEndpoint {
  address: string;
  port: number;
}

export interface ProxyHeader {
  version: 1 | 2;
  /** proxy: the addresses are the client's; local: the proxy speaks for itself (a health check). */
  command: 'proxy' | 'local';
  /** The client; absent when the header carries no usable address (use the socket's). */
  source?: ProxyEndpoint;
  /** The address the client connected to, when the header carries it. */
  destination?: ProxyEndpoint;
}

export type ProxyParseResult =
  | { kind: 'incomplete' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'header'; header: ProxyHeader; length: number };

const INCOMPLETE: ProxyParseResult = { kind: 'incomplete' };
const invalid = (reason: string): ProxyParseResult => ({ kind: 'invalid', reason });

/** Parses the PROXY header at the start of buf (v1 or v2, told apart by the first byte). */
export function parseProxyHeader(buf: Buffer): ProxyParseResult {
  if (buf.length === 0) return INCOMPLETE;
  if (buf[0] === V1_PREFIX[0]) return parseV1(buf);
  if (buf[0] === V2_SIGNATURE[0]) return parseV2(buf);
  return invalid('the connection did not start with a PROXY protocol header');
}

function startsLike(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  return buf.subarray(0, n).equals(prefix.subarray(0, n));
}

function parseV1(buf: Buffer): ProxyParseResult {
  if (!startsLike(buf, V1_PREFIX)) return invalid('not a PROXY protocol v1 header (it must start with "PROXY ")');
  const window = buf.subarray(0, V1_MAX_LENGTH);
  const lf = window.indexOf(0x0a);
  if (lf === -1) {
    if (buf.length >= V1_MAX_LENGTH) return invalid(`PROXY v1 header longer than ${V1_MAX_LENGTH} bytes`);
    if (window.includes(0x0d) && window.indexOf(0x0d) !== window.length - 1) return invalid('PROXY v1 header with a CR not followed by LF');
    return INCOMPLETE;
  }
  if (lf === 0 || window[lf - 1] !== 0x0d) return invalid('PROXY v1 header not ended by CRLF');
  const line = window.subarray(0, lf - 1);
  for (const b of line) {
    if (b < 0x20 || b > 0x7e) return invalid('PROXY v1 header with a control or non-ASCII character');
  }
  const length = lf + 1;
  const text = line.toString('latin1');
  const fields = text.split(' ');
  const protocol = fields[1];
  if (protocol === 'UNKNOWN') {
    // The specification: whatever follows UNKNOWN up to the CRLF is ignored.
    return { kind: 'header', header: { version: 1, command: 'proxy' }, length };
  }
  if (protocol !== 'TCP4' && protocol !== 'TCP6') return invalid(`PROXY v1 protocol ${JSON.stringify(protocol ?? '')} is not TCP4, TCP6 or UNKNOWN`);
  if (fields.length !== 6) return invalid('PROXY v1 header must have exactly: PROXY, protocol, source, destination, source port, destination port, separated by single spaces');
  const [, , src, dst, sport, dport] = fields as [string, string, string, string, string, string];
  const family = protocol === 'TCP4' ? isIPv4 : isIPv6;
  for (const a of [src, dst]) {
    if (!family(a) || a.includes('%')) return invalid(`PROXY v1 address ${JSON.stringify(a)} is not an ${protocol === 'TCP4' ? 'IPv4' : 'IPv6'} address`);
  }
  const sourcePort = v1Port(sport);
  const destinationPort = v1Port(dport);
  if (sourcePort === undefined || destinationPort === undefined) return invalid('PROXY v1 port is not a number from 0 to 65535');
  return {
    kind: 'header',
    header: {
      version: 1,
      command: 'proxy',
      source: { address: normaliseIp(src), port: sourcePort },
      destination: { address: normaliseIp(dst), port: destinationPort },
    },
    length,
  };
}

function v1Port(s: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

function parseV2(buf: Buffer): ProxyParseResult {
  if (!startsLike(buf, V2_SIGNATURE)) return invalid('not a PROXY protocol v2 signature');
  if (buf.length < V2_FIXED) return INCOMPLETE;
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 0x2) return invalid(`PROXY v2 header with version ${verCmd >> 4} (must be 2)`);
  const cmd = verCmd & 0x0f;
  if (cmd !== 0x0 && cmd !== 0x1) return invalid(`PROXY v2 command ${cmd} is neither LOCAL (0) nor PROXY (1)`);
  const fam = buf[13]!;
  if (![0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32].includes(fam)) return invalid(`PROXY v2 address family/transport byte 0x${fam.toString(16).padStart(2, '0')} is not defined`);
  const len = buf.readUInt16BE(14);
  const length = V2_FIXED + len;
  if (buf.length < length) return INCOMPLETE;
  const body = buf.subarray(V2_FIXED, length);
  if (cmd === 0x0) {
    // LOCAL: the proxy's own connection (e.g. a health check); the block is skipped unread.
    return { kind: 'header', header: { version: 2, command: 'local' }, length };
  }
  if ((fam & 0x0f) === 0x2) return invalid('PROXY v2 header for a UDP (DGRAM) connection; SMTP needs a TCP stream');
  const addrLen = { 0x00: 0, 0x11: 12, 0x21: 36, 0x31: 216 }[fam] ?? 0;
  if (len < addrLen) return invalid(`PROXY v2 address block of ${len} bytes is shorter than the ${addrLen} its family needs`);
  const tlvProblem = checkTlvs(body.subarray(addrLen));
  if (tlvProblem) return invalid(tlvProblem);
  if (fam === 0x11 || fam === 0x21) {
    // Source and destination addresses (4 or 16 bytes each), then the two ports.
    const size = fam === 0x11 ? 4 : 16;
    const ip = (o: number) => (size === 4
      ? `${body[o]}.${body[o + 1]}.${body[o + 2]}.${body[o + 3]}`
      : normaliseIp(ipaddr.fromByteArray([...body.subarray(o, o + 16)]).toString()));
    return {
      kind: 'header',
      header: {
        version: 2, command: 'proxy',
        source: { address: ip(0), port: body.readUInt16BE(2 * size) },
        destination: { address: ip(size), port: body.readUInt16BE(2 * size + 2) },
      },
      length,
    };
  }
  // UNSPEC or UNIX: no IP address to use; the connection's own addresses stand.
  return { kind: 'header', header: { version: 2, command: 'proxy' }, length };
}

/** TLVs are skipped, but they must fill the rest of the block exactly. */
function checkTlvs(tlvs: Buffer): string | undefined {
  let o = 0;
  while (o < tlvs.length) {
    if (tlvs.length - o < 3) return 'PROXY v2 header ends inside a TLV';
    const n = tlvs.readUInt16BE(o + 1);
    o += 3 + n;
    if (o > tlvs.length) return 'PROXY v2 TLV longer than the header';
  }
  return undefined;
}

export class ProxyHeaderError extends Error {
  constructor(message: string, readonly reason: 'invalid' | 'timeout' | 'closed') {
    super(message);
    this.name = 'ProxyHeaderError';
  }
}

/**
 * Reads one PROXY header from the start of a socket, waiting at most
 * timeoutMs. Bytes after the header are put back for the next reader (the
 * SMTP session or the TLS handshake). Rejects with a ProxyHeaderError when the
 * header is invalid, late or cut short; the caller closes the socket.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let finished = false;
    const finish = (f: () => void) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.removeListener('readable', onReadable);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onEnd);
      socket.removeListener('error', onError);
      f();
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while (!finished && (chunk = socket.read() as Buffer | null) !== null) {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        const r = parseProxyHeader(buf);
        if (r.kind === 'incomplete') continue;
        if (r.kind === 'invalid') return finish(() => reject(new ProxyHeaderError(r.reason, 'invalid')));
        const rest = buf.subarray(r.length);
        return finish(() => {
          if (rest.length) socket.unshift(rest);
          resolve(r.header);
        });
      }
    };
    const onEnd = () => finish(() => reject(new ProxyHeaderError('the connection closed before a complete PROXY header arrived', 'closed')));
    const onError = (err: Error) => finish(() => reject(new ProxyHeaderError(`connection error before the PROXY header: ${err.message}`, 'closed')));
    const timer = setTimeout(
      () => finish(() => reject(new ProxyHeaderError(`no complete PROXY header within ${timeoutMs} ms`, 'timeout'))),
      timeoutMs,
    );
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.on('error', onError);
  });
}
