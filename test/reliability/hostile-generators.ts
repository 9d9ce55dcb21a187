/**
 * fast-check generators of hostile input: SMTP session actions (valid and
 * malformed commands, long lines, NUL, 8-bit bytes, bare CR/LF, pipelining,
 * AUTH exchanges, whole transactions) and MIME messages (broken boundaries,
 * huge header lines, invalid encodings, deep nesting, 8-bit headers, stray
 * CR/LF/NUL and the SMTP smuggling sequences). Strings are Latin-1: one
 * character per byte (Buffer.from(s, 'latin1')).
 */
import fc from 'fast-check';

export const FUZZ_USER = 'fuzzdev';
export const FUZZ_PASS = 'fuzz pass 1';

/** Every inbound and outbound sequence of the SEC Consult scanner (reference §1), plus the NUL variants. */
export const SMUGGLING_SEQUENCES: Record<string, string> = {
  lflf: '\n.\n',
  lfcr: '\n.\r',
  crlf: '\r.\n',
  crcr: '\r.\r',
  lfcrlf: '\n.\r\n',
  crcrlf: '\r.\r\n',
  crlflf: '\r\n.\n',
  crlfcr: '\r\n.\r',
  nullbefore: '\r\n\x00.\r\n',
  nullafter: '\r\n.\x00\r\n',
  crlfcrcrlf: '\r\n.\r\r\n',
  crcrlfcrcrlf: '\r\r\n.\r\r\n',
};

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');

const latin1 = (min: number, max: number) => fc.integer({ min, max }).map((c) => String.fromCharCode(c));

/** One byte of hostile text: mostly printable SMTP-ish characters, sometimes NUL, bare CR, DEL, 8-bit, bare LF. */
const hostileChar = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...'abcxyzABCXYZ0189@.<>:%!"[]=+/_-,; ()\\'.split('')) },
  { weight: 2, arbitrary: latin1(0x20, 0x7e) },
  { weight: 1, arbitrary: fc.constantFrom('\0', '\r', '\x7f', '\t', '\x1b', '\x0b') },
  { weight: 1, arbitrary: latin1(0x80, 0xff) },
  { weight: 1, arbitrary: fc.constant('\n') },
);

export const hostileString = (maxLength: number) => fc.array(hostileChar, { maxLength }).map((a) => a.join(''));

/** Text without line ends (for a value that must stay on its line). */
const lineString = (maxLength: number) => hostileString(maxLength).map((s) => s.replace(/[\r\n]/g, ' '));

// ---------------------------------------------------------------------------
// MIME messages

export interface MimeOptions {
  maxDepth: number;
  /** Longest header value (some values are this long: huge header lines). */
  maxHeaderValue: number;
  maxParts: number;
}

const HEADER_NAMES = [
  'From', 'To', 'Cc', 'Subject', 'Date', 'Message-ID', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding', 'Bcc', 'Resent-Bcc',
  'bcc', 'BCC ', 'Received', 'Reply-To', 'Return-Path', 'X-Scanner', 'Content-Disposition', 'Sender',
];

const eightBit = (n: number) => fc.array(latin1(0x80, 0xff), { maxLength: n }).map((a) => a.join(''));

function headerValue(maxLong: number) {
  return fc.oneof(
    { weight: 6, arbitrary: lineString(60) },
    { weight: 2, arbitrary: eightBit(40) },
    { weight: 2, arbitrary: fc.constantFrom('=?utf-8?B?5pel5pys6Kqe?=', '=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=', '=?utf-8?B?@@@invalid@@@?=', '=?x?Q?=ZZ=?=', '=?utf-8?Q?unterminated', '=?=?=?', '"Scanner 3F" <scan@printer.local>', 'a@b, "c, d" <e@f>, (comment) g@h', '<>', 'multipart/mixed; boundary=') },
    { weight: 2, arbitrary: fc.tuple(lineString(40), fc.constantFrom('\r\n\t', '\r\n ', '\r\n \r\n '), lineString(40)).map(([a, f, b]) => `${a}${f}${b}`) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1000, max: Math.max(1000, maxLong) }), fc.constantFrom('x', 'ab ', '\xe3\x81\x82')).map(([n, c]) => c.repeat(Math.ceil(n / c.length))) },
  );
}

function headerField(maxLong: number) {
  return fc.oneof(
    { weight: 10, arbitrary: fc.tuple(fc.constantFrom(...HEADER_NAMES), fc.constantFrom(': ', ':', ' : ', ':\t'), headerValue(maxLong)).map(([n, s, v]) => `${n}${s}${v}\r\n`) },
    { weight: 1, arbitrary: fc.tuple(lineString(20), headerValue(maxLong)).map(([n, v]) => `${n.replace(/:/g, '')}: ${v}\r\n`) },
    { weight: 1, arbitrary: fc.tuple(eightBit(10), lineString(20)).map(([n, v]) => `${n}: ${v}\r\n`) },
    { weight: 1, arbitrary: lineString(40).map((s) => `${s.replace(/:/g, '')}\r\n`) }, // no colon at all
    { weight: 1, arbitrary: lineString(30).map((s) => ` ${s}\r\n`) }, // continuation without a field
  );
}

const boundaryString = fc.oneof(
  fc.constantFrom('b1', '----=_Part_0_1', '=_boundary', 'a b', '--', ''),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 90 }).map((s) => s.replace(/["\r\n]/g, 'q')),
);

const leafBody = fc.oneof(
  { weight: 4, arbitrary: fc.array(lineString(80), { maxLength: 12 }).map((l) => l.map((x) => `${x}\r\n`).join('')) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 3000 }).map((u) => `${(Buffer.from(u).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')}\r\n`) },
  { weight: 1, arbitrary: fc.constantFrom('@@@ not base64 ===\r\n', 'QUJD\r\n=QUJD\r\n', '====\r\n', 'QUJ\r\n', '=ZZ=4=\r\nsoft break=\r\nend=\r\n', '=\r\n=\r\n') },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((u) => Buffer.from(u).toString('latin1')) },
  { weight: 1, arbitrary: fc.constantFrom('.\r\n', '..\r\n', '.leading dot\r\n', 'a\r\n.\r\nb\r\n', '.\r\n.\r\n.\r\n', '..\r\n.\r\n') },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 20_000 }).map((n) => `${'L'.repeat(n)}\r\n`) },
  { weight: 1, arbitrary: fc.constant('') },
);

function leafPart(maxLong: number) {
  return fc
    .tuple(
      fc.constantFrom('text/plain; charset=utf-8', 'text/plain; charset=shift_jis', 'application/pdf; name="scan.pdf"', 'image/jpeg', 'message/rfc822', 'message/partial; id="x"; number=1; total=2', 'text/html', 'bogus'),
      fc.constantFrom('7bit', '8bit', 'base64', 'quoted-printable', 'binary', 'x-uuencode', 'bogus'),
      fc.array(headerField(maxLong), { maxLength: 2 }),
      leafBody,
    )
    .map(([ct, cte, extra, body]) => `Content-Type: ${ct}\r\nContent-Transfer-Encoding: ${cte}\r\n${extra.join('')}\r\n${body}`);
}

function partOf(depth: number, o: MimeOptions): fc.Arbitrary<string> {
  if (depth <= 0) return leafPart(Math.min(o.maxHeaderValue, 2000));
  return fc.oneof(
    { weight: 2, arbitrary: leafPart(Math.min(o.maxHeaderValue, 2000)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          boundaryString,
          fc.array(partOf(depth - 1, o), { maxLength: o.maxParts }),
          fc.constantFrom('closed', 'open', 'typo', 'nested-same'),
          fc.constantFrom('mixed', 'alternative', 'related', 'report', 'signed'),
          lineString(40),
        )
        .map(([b, parts, close, sub, preamble]) => {
          const used = close === 'typo' ? `${b}x` : b;
          const body = parts.map((p) => `--${used}\r\n${p}`).join('\r\n');
          const end = close === 'closed' || close === 'typo' ? `\r\n--${used}--\r\n` : close === 'nested-same' ? `\r\n--${b}\r\nContent-Type: multipart/mixed; boundary="${b}"\r\n\r\n--${b}--\r\n` : '\r\n';
          return `Content-Type: multipart/${sub}; boundary="${b}"\r\n\r\n${preamble}\r\n${body}${end}`;
        }),
    },
  );
}

/** A chain of `depth` multiparts, each holding the next (deep nesting). */
const deepChain = fc.tuple(fc.integer({ min: 10, max: 300 }), fc.boolean()).map(([depth, closed]) => {
  let inner = 'Content-Type: text/plain\r\n\r\ndeep\r\n';
  for (let i = depth; i > 0; i--) {
    inner = `Content-Type: multipart/mixed; boundary="d${i}"\r\n\r\n--d${i}\r\n${inner}${closed ? `\r\n--d${i}--\r\n` : ''}`;
  }
  return inner;
});

/** Stray bytes inserted into a message: bare CR, bare LF, NUL, and the smuggling sequences. */
const strays = fc.array(
  fc.tuple(fc.nat(), fc.oneof(fc.constantFrom('\r', '\n', '\0', '\r\r', '\n\n'), fc.constantFrom(...Object.values(SMUGGLING_SEQUENCES)))),
  { maxLength: 4 },
);

function insertStrays(s: string, list: [number, string][]): string {
  let out = s;
  for (const [at, what] of list) {
    const i = at % (out.length + 1);
    out = out.slice(0, i) + what + out.slice(i);
  }
  return out;
}

/** A hostile MIME message (Latin-1 string). About half carry stray CR/LF/NUL bytes. */
export function mimeMessage(o: MimeOptions): fc.Arbitrary<string> {
  const top = fc.oneof({ weight: 6, arbitrary: partOf(o.maxDepth, o) }, { weight: 1, arbitrary: deepChain });
  return fc
    .tuple(
      fc.array(headerField(o.maxHeaderValue), { maxLength: 8 }),
      fc.constantFrom('MIME-Version: 1.0\r\n', '', 'MIME-Version: 1.0\r\nMIME-Version: 2\r\n'),
      top,
      fc.oneof({ weight: 1, arbitrary: strays }, { weight: 1, arbitrary: fc.constant([] as [number, string][]) }),
      fc.constantFrom('full', 'full', 'full', 'no-body', 'starts-blank', 'no-final-crlf'),
    )
    .map(([fields, mime, body, stray, shape]) => {
      let m = `${fields.join('')}${mime}${body}`;
      if (shape === 'no-body') m = fields.join('');
      if (shape === 'starts-blank') m = `\r\n${body}`;
      if (shape === 'no-final-crlf') m = m.replace(/(\r\n)+$/, '');
      return insertStrays(m, stray);
    });
}

// ---------------------------------------------------------------------------
// SMTP sessions

const address = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'user@example.com', 'relaytest@nmap.scanme.org', 'postmaster', '', 'a%b@relay.test', '"x@y"@relay.test',
      '@relay.test:u@example.com', '@a,@b:u@example.com', 'host!user', 'host!user@relay.test', 'u@[127.0.0.1]', 'u@[IPv6:::1]',
      'u@example.com@relay.test', '"quoted local"@example.com', 'ilo.@example.com', 'u@localhost', 'Ünïcode@exämple.com',
      'u@relay.test', `${'x'.repeat(300)}@example.com`, 'a@b@c@d',
    ),
  },
  { weight: 2, arbitrary: fc.emailAddress() },
  { weight: 2, arbitrary: fc.tuple(hostileString(24), hostileString(24)).map(([l, d]) => `${l}@${d}`) },
);

const mailParams = fc.array(
  fc.oneof(
    fc.nat({ max: 300_000_000 }).map((n) => ` SIZE=${n}`),
    fc.constantFrom(' BODY=8BITMIME', ' BODY=7BIT', ' BODY=BINARYMIME', ' SMTPUTF8', ' RET=HDRS', ' ENVID=x', ' AUTH=<>', ' SIZE=', ' SIZE=-1', ' SIZE=1e99', ' =', ' X'),
    lineString(20).map((s) => ` ${s}`),
  ),
  { maxLength: 3 },
).map((a) => a.join(''));

const rcptParams = fc.array(
  fc.oneof(
    fc.constantFrom(' NOTIFY=NEVER', ' NOTIFY=SUCCESS,FAILURE', ' ORCPT=rfc822;u@example.com', ' NOTIFY=', ' X=Y'),
    lineString(20).map((s) => ` ${s}`),
  ),
  { maxLength: 2 },
).map((a) => a.join(''));

const mailArg = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(address, mailParams).map(([a, p]) => `FROM:<${a}>${p}`) },
  { weight: 1, arbitrary: address.map((a) => `FROM:${a}`) },
  { weight: 1, arbitrary: address.map((a) => `FROM: <${a}>`) },
  { weight: 1, arbitrary: address.map((a) => `FROM <${a}>`) },
  { weight: 1, arbitrary: hostileString(40) },
);

const rcptArg = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(address, rcptParams).map(([a, p]) => `TO:<${a}>${p}`) },
  { weight: 1, arbitrary: address.map((a) => `TO:${a}`) },
  { weight: 1, arbitrary: address.map((a) => `TO: <${a}>`) },
  { weight: 1, arbitrary: hostileString(40) },
);

const credentials = fc.record({
  user: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(FUZZ_USER, 'admin', 'root', '', 'FUZZDEV') }, { weight: 1, arbitrary: lineString(20) }),
  pass: fc.oneof({ weight: 2, arbitrary: fc.constantFrom(FUZZ_PASS, 'wrong', '') }, { weight: 1, arbitrary: hostileString(20) }),
});

const authArg = fc.oneof(
  credentials.map(({ user, pass }) => `PLAIN ${b64(`\0${user}\0${pass}`)}`),
  credentials.map(({ user, pass }) => `PLAIN ${b64(`${user}\0${user}\0${pass}`)}`),
  fc.constantFrom('PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2', 'GSSAPI', 'NTLM', 'PLAIN =', 'PLAIN !!notbase64!!', 'LOGIN =', '', 'plain'),
  credentials.map(({ user }) => `LOGIN ${b64(user)}`),
  hostileString(30).map((s) => `XOAUTH2 ${b64(s)}`),
  hostileString(30),
);

/** A line the client sends while the server waits for the rest of an AUTH exchange. */
const authResponse = fc.oneof(
  fc.constantFrom(b64(FUZZ_USER), b64(FUZZ_PASS), b64('wrong'), '*', '=', ''),
  credentials.map(({ user, pass }) => b64(`\0${user}\0${pass}`)),
  hostileString(30),
);

const VERB_ARGS: [string, fc.Arbitrary<string>][] = [
  ['EHLO', fc.oneof(fc.constantFrom('relay.test', '[127.0.0.2]', 'printer', ''), hostileString(40), fc.constant('h'.repeat(400)))],
  ['HELO', fc.oneof(fc.constantFrom('relay.test', 'printer'), hostileString(40))],
  ['MAIL', mailArg],
  ['RCPT', rcptArg],
  ['DATA', fc.oneof({ weight: 5, arbitrary: fc.constant('') }, { weight: 1, arbitrary: hostileString(10) })],
  ['BDAT', fc.oneof(fc.nat({ max: 100_000 }).map((n) => `${n} LAST`), fc.nat({ max: 100 }).map(String), hostileString(10))],
  ['RSET', fc.constant('')],
  ['NOOP', fc.oneof(fc.constant(''), hostileString(20))],
  ['VRFY', address],
  ['EXPN', address],
  ['AUTH', authArg],
  ['STARTTLS', fc.constant('')],
  ['HELP', fc.oneof(fc.constant(''), hostileString(10))],
  ['XCLIENT', fc.constantFrom('ADDR=127.0.0.2 NAME=lan', 'ADDR=127.0.0.3', 'LOGIN=fuzzdev')],
  ['XFORWARD', fc.constantFrom('ADDR=127.0.0.2', 'HELO=lan')],
  ['PROXY', fc.constantFrom('TCP4 127.0.0.2 127.0.0.1 4242 25', 'UNKNOWN')],
  ['ETRN', hostileString(10)],
  ['QUIT', fc.constant('')],
];

const verbArg = fc.oneof(
  ...VERB_ARGS.map(([verb, arg]) => ({ weight: verb === 'QUIT' ? 1 : verb === 'MAIL' || verb === 'RCPT' || verb === 'AUTH' ? 6 : 3, arbitrary: arg.map((a) => [verb, a] as const) })),
  { weight: 2, arbitrary: fc.tuple(lineString(12), hostileString(30)) },
);

const terminator = fc.oneof({ weight: 8, arbitrary: fc.constant('\r\n') }, { weight: 2, arbitrary: fc.constant('\n') });

/** One command line with its terminator (a bare LF inside makes it two lines, as smtp-server reads it). */
export const commandLine = fc
  .tuple(verbArg, fc.boolean(), fc.constantFrom(' ', ' ', ' ', '  ', '\t', ''), terminator)
  .map(([[verb, arg], lower, sep, end]) => `${lower ? verb.toLowerCase() : verb}${arg ? `${sep}${arg}` : ''}${end}`);

/** Lines that never change the session mode, for pipelining. */
const safeLine = fc
  .tuple(
    fc.oneof(
      fc.constantFrom('NOOP', 'RSET', 'HELP', 'EHLO pipelined', 'HELO pipelined'),
      mailArg.map((a) => `MAIL ${a}`),
      rcptArg.map((a) => `RCPT ${a}`),
      address.map((a) => `VRFY ${a}`),
    ),
    terminator,
  )
  .map(([l, t]) => `${l.replace(/[\r\n]/g, ' ')}${t}`);

export type Action =
  /** Command text: one or more lines, maybe a fragment; sent one line at a time, each answered before the next. */
  | { kind: 'lines'; text: string }
  /** Several mode-neutral command lines in one write (PIPELINING). */
  | { kind: 'pipeline'; text: string }
  /**
   * Command lines (maybe none) and then a message: sent as message content if
   * the relay is in DATA mode by then; otherwise dropped, or (asCommands) sent
   * as command lines, as a client that ignores a refusal would.
   */
  | { kind: 'message'; lines: string; content: string; cuts: number[]; asCommands: boolean };

/** Small hostile messages for sessions (the MIME property uses bigger ones). */
export const smallMessage = mimeMessage({ maxDepth: 2, maxHeaderValue: 300, maxParts: 3 });

const LOGINS = [
  `AUTH LOGIN\r\n${b64(FUZZ_USER)}\r\n${b64(FUZZ_PASS)}\r\n`,
  `AUTH PLAIN ${b64(`\0${FUZZ_USER}\0${FUZZ_PASS}`)}\r\n`,
  `AUTH PLAIN\r\n${b64(`\0${FUZZ_USER}\0${FUZZ_PASS}`)}\r\n`,
];

/** Mostly plain addresses, so that logged-in sessions get whole transactions through. */
const envelopeAddress = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('scanner@printer.local', 'user@example.com', 'relaytest@nmap.scanme.org') },
  { weight: 1, arbitrary: fc.emailAddress() },
  { weight: 1, arbitrary: address },
);

const message = (lines: fc.Arbitrary<string>) =>
  fc
    .tuple(lines, smallMessage, fc.array(fc.nat(), { maxLength: 4 }), fc.boolean(), fc.boolean())
    .map(([l, content, cuts, ignore, more]) => ({ kind: 'message' as const, lines: l, content, cuts, asCommands: ignore && more }));

export const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 40, arbitrary: commandLine.map((text) => ({ kind: 'lines' as const, text })) },
  { weight: 6, arbitrary: fc.array(safeLine, { minLength: 2, maxLength: 8 }).map((l) => ({ kind: 'pipeline' as const, text: l.join('') })) },
  { weight: 5, arbitrary: authResponse.map((r) => ({ kind: 'lines' as const, text: `${r}\r\n` })) },
  // A fragment: no line end, so it is joined with whatever comes next.
  { weight: 3, arbitrary: hostileString(60).map((s) => ({ kind: 'lines' as const, text: s.replace(/\n/g, '') })) },
  // A long line: over smtp-server's 16 KB command limit or just under it.
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('MAIL FROM:<', 'RCPT TO:<', 'EHLO ', 'AUTH PLAIN ', 'NOOP ', 'X'), fc.integer({ min: 900, max: 40_000 }), fc.constantFrom('A', 'x@', '\x80', '\0'))
      .map(([p, n, c]) => ({ kind: 'lines' as const, text: `${p}${c.repeat(Math.ceil(n / c.length))}\r\n` })),
  },
  // A login with the right password (so that authenticated paths are explored too), as LOGIN or PLAIN.
  { weight: 8, arbitrary: fc.constantFrom(...LOGINS).map((text) => ({ kind: 'lines' as const, text })) },
  // A whole transaction: MAIL, RCPT, DATA, then the message.
  { weight: 12, arbitrary: message(fc.tuple(envelopeAddress, envelopeAddress).map(([f, t]) => `MAIL FROM:<${f}>\r\nRCPT TO:<${t}>\r\nDATA\r\n`)) },
  { weight: 3, arbitrary: message(fc.constant('')) },
  // Log in and send at once (the data path of an authenticated session).
  {
    weight: 4,
    arbitrary: message(fc.tuple(fc.constantFrom(...LOGINS), envelopeAddress, envelopeAddress).map(([l, f, t]) => `${l}MAIL FROM:<${f}>\r\nRCPT TO:<${t}>\r\nDATA\r\n`)),
  },
  { weight: 1, arbitrary: fc.constantFrom('GET / HTTP/1.1\r\n', 'POST /x HTTP/1.0\r\n').map((text) => ({ kind: 'lines' as const, text })) },
);

/** A session: usually an EHLO or HELO first, then the actions. */
export const session = fc
  .tuple(
    fc.oneof({ weight: 6, arbitrary: fc.constantFrom('EHLO fuzz\r\n', 'HELO fuzz\r\n', 'ehlo [127.0.0.1]\r\n') }, { weight: 1, arbitrary: fc.constant('') }),
    fc.array(action, { minLength: 3, maxLength: 30, size: 'medium' }),
  )
  .map(([open, actions]): Action[] => (open ? [{ kind: 'lines', text: open }, ...actions] : actions));
