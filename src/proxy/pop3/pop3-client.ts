/**
 * The POP3 hook table (Dovecot's pop3-login): the AUTHORIZATION state's
 * commands — CAPA, STLS, USER/PASS, AUTH PLAIN (with an initial response
 * or after "+ "), QUIT — and the replies (RFC 1939, 2449, 2595, 5034, with
 * the RFC 3206 response codes). CAPA before login lists only what the
 * proxy serves; after login CAPA goes to the upstream through the byte pipe
 * and the client sees the server's own list (TOP, UIDL...).
 */
import type { ClientProtocol, ClientSession, FarewellReason, LoginOutcome } from '../common/client-session.js';
import { LineError } from '../common/line-reader.js';
import { decodeSaslPlain } from '../common/sasl-plain.js';
import type { UpstreamSession } from '../common/upstream-login.js';
import { pop3Upstream } from './pop3-upstream.js';

const MAX_BAD_COMMANDS = 10;

const FAREWELL: Record<FarewellReason, string> = {
  busy: '-ERR [SYS/TEMP] Too many connections; try again later.\r\n',
  'locked-out': '-ERR [SYS/TEMP] Too many failed logins from your address; try again later.\r\n',
  'idle-timeout': '-ERR Disconnected for inactivity.\r\n',
  'line-timeout': '-ERR A command line took too long to arrive.\r\n',
  'too-long': '-ERR Command line too long.\r\n',
  shutdown: '-ERR [SYS/TEMP] Server shutting down.\r\n',
  'too-many-errors': '-ERR Too many invalid commands.\r\n',
};

const PRIVACY = '-ERR [AUTH] Plaintext authentication is not allowed without TLS; use STLS first.\r\n';

function capa(s: ClientSession): string {
  const lines = ['CAPA', 'RESP-CODES', 'AUTH-RESP-CODE'];
  if (s.canStartTls) lines.push('STLS');
  if (s.plaintextAllowed) lines.push('USER', 'SASL PLAIN');
  return `+OK Capability list follows\r\n${lines.join('\r\n')}\r\n.\r\n`;
}

export const pop3Client: ClientProtocol = {
  protocol: 'pop3',
  upstream: pop3Upstream,
  greeting: () => '+OK authrelay POP3 proxy ready.\r\n',
  farewell: (reason) => FAREWELL[reason],
  serve,
};

async function serve(s: ClientSession): Promise<UpstreamSession | undefined> {
  let bad = 0;
  let user: string | undefined;
  const next = async (): Promise<string | null> => {
    const line = await s.readLine();
    return line === null ? null : line.toString('utf8');
  };
  try {
    for (;;) {
      const line = await next();
      if (line === null) return undefined;
      const space = line.indexOf(' ');
      const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase();
      const rest = space === -1 ? '' : line.slice(space + 1);
      let outcome: LoginOutcome | undefined;
      switch (verb) {
        case 'CAPA':
          s.write(capa(s));
          break;
        case 'QUIT':
          s.end('+OK Logging out.\r\n');
          return undefined;
        case 'STLS':
          if (s.secure) s.write('-ERR TLS is already active.\r\n');
          else if (!s.canStartTls) s.write('-ERR STLS is not available on this port.\r\n');
          else if (!(await s.startTls('+OK Begin TLS negotiation now.\r\n'))) return undefined;
          else user = undefined;
          break;
        case 'USER':
          if (!s.plaintextAllowed) s.write(PRIVACY);
          else if (!rest) s.write('-ERR USER needs a user name.\r\n');
          else {
            user = rest;
            s.write('+OK\r\n');
          }
          break;
        case 'PASS':
          if (user === undefined) s.write('-ERR No user name given (send USER first).\r\n');
          else outcome = await s.login({ mechanism: 'USER', user, password: rest });
          user = undefined;
          break;
        case 'AUTH': {
          const [mechanism, initial, extra] = rest.split(' ');
          if (!mechanism) {
            s.write('+OK\r\nPLAIN\r\n.\r\n');
            break;
          }
          if (mechanism.toUpperCase() !== 'PLAIN' || extra !== undefined) {
            s.write('-ERR [AUTH] Unsupported authentication mechanism; use AUTH PLAIN or USER/PASS.\r\n');
            break;
          }
          if (!s.plaintextAllowed) {
            s.write(PRIVACY);
            break;
          }
          let response = initial;
          if (response === undefined) {
            s.write('+ \r\n');
            const answer = await next();
            if (answer === null) return undefined;
            if (answer === '*') {
              s.write('-ERR Authentication aborted by the client.\r\n');
              break;
            }
            response = answer;
          }
          const plain = decodeSaslPlain(response);
          if (!plain) s.write('-ERR Invalid SASL PLAIN response.\r\n');
          else outcome = await s.login({ mechanism: 'PLAIN', user: plain.user, password: plain.password, ...(plain.authzid ? { authzid: plain.authzid } : {}) });
          break;
        }
        default:
          s.write('-ERR Unknown command, or not valid before login.\r\n');
          bad += 1;
          if (bad >= MAX_BAD_COMMANDS) {
            s.end(FAREWELL['too-many-errors']);
            return undefined;
          }
      }
      if (outcome) {
        const opened = answer(s, outcome);
        if (opened !== 'next') return opened;
      }
      if (s.closed) return undefined;
    }
  } catch (err) {
    if (err instanceof LineError) {
      s.readFailed(err);
      return undefined;
    }
    throw err;
  }
}

function answer(s: ClientSession, o: LoginOutcome): UpstreamSession | undefined | 'next' {
  if (o.ok) {
    s.write('+OK Logged in.\r\n');
    return o.upstream;
  }
  let line: string;
  if (o.refused === 'credentials') {
    if (o.locked) {
      s.end('-ERR [SYS/TEMP] Too many failed logins; try again later.\r\n');
      return undefined;
    }
    line = '-ERR [AUTH] Authentication failed.\r\n';
  } else {
    line = `-ERR [${o.explained.temporary ? 'SYS/TEMP' : 'SYS/PERM'}] ${o.explained.clientText}\r\n`;
  }
  if (o.close) {
    s.end(line);
    return undefined;
  }
  s.write(line);
  return 'next';
}
