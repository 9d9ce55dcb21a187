/**
 * The IMAP hook table (Dovecot's imap-login): the commands a legacy client
 * may send before login — CAPABILITY, NOOP, ID, LOGOUT, STARTTLS, LOGIN,
 * AUTHENTICATE PLAIN (with SASL-IR or a continuation) — and the replies.
 *
 * The capability list before login names only what the proxy serves:
 * IMAP4rev1, SASL-IR, ID, LITERAL+, STARTTLS while it can be started, and
 * AUTH=PLAIN when a password may be sent now, else LOGINDISABLED. Any other
 * mechanism (XOAUTH2 included) is refused here and never reaches the
 * upstream. After login the client sees the upstream's own capabilities:
 * in the tagged OK's [CAPABILITY] code (as Dovecot's proxy does), and from
 * then on whatever the upstream answers through the byte pipe.
 */
import type { ClientProtocol, ClientSession, FarewellReason, LoginOutcome } from '../common/client-session.js';
import { LineError } from '../common/line-reader.js';
import { decodeSaslPlain } from '../common/sasl-plain.js';
import type { UpstreamSession } from '../common/upstream-login.js';
import { argText, readImapCommand, type ImapCommand } from './imap-command.js';
import { imapUpstream } from './imap-upstream.js';

/** Largest literal accepted before login (a user name or a password). */
const MAX_LITERAL = 8192;
const MAX_BAD_COMMANDS = 10;

const FAREWELL: Record<FarewellReason, string> = {
  busy: '* BYE [UNAVAILABLE] Too many connections; try again later.\r\n',
  'locked-out': '* BYE [UNAVAILABLE] Too many failed logins from your address; try again later.\r\n',
  'idle-timeout': '* BYE Disconnected for inactivity.\r\n',
  'line-timeout': '* BYE A command line took too long to arrive.\r\n',
  'too-long': '* BYE [TOOBIG] Command line too long.\r\n',
  shutdown: '* BYE [UNAVAILABLE] Server shutting down.\r\n',
  'too-many-errors': '* BYE Too many invalid commands.\r\n',
};

function capabilities(s: ClientSession): string {
  const caps = ['IMAP4rev1', 'SASL-IR', 'ID', 'LITERAL+'];
  if (s.canStartTls) caps.push('STARTTLS');
  caps.push(s.plaintextAllowed ? 'AUTH=PLAIN' : 'LOGINDISABLED');
  return caps.join(' ');
}

const PRIVACY = 'NO [PRIVACYREQUIRED] Plaintext authentication is not allowed without TLS; use STARTTLS first.';

export const imapClient: ClientProtocol = {
  protocol: 'imap',
  upstream: imapUpstream,
  greeting: (s) => `* OK [CAPABILITY ${capabilities(s)}] authrelay IMAP proxy ready.\r\n`,
  farewell: (reason) => FAREWELL[reason],
  serve,
};

async function serve(s: ClientSession): Promise<UpstreamSession | undefined> {
  let bad = 0;
  for (;;) {
    let read;
    try {
      read = await readImapCommand(s, MAX_LITERAL);
    } catch (err) {
      if (err instanceof LineError) {
        s.readFailed(err);
        return undefined;
      }
      throw err;
    }
    if (read.kind === 'end') return undefined;
    if (read.kind === 'bad') {
      s.write(`${read.tag ?? '*'} BAD ${read.text}\r\n`);
      bad += 1;
      if (read.close || bad >= MAX_BAD_COMMANDS) {
        s.end(FAREWELL['too-many-errors']);
        return undefined;
      }
      continue;
    }
    const result = await command(s, read.command);
    if (result === 'bad') {
      bad += 1;
      if (bad >= MAX_BAD_COMMANDS) {
        s.end(FAREWELL['too-many-errors']);
        return undefined;
      }
    } else if (result !== 'next') {
      return result === 'end' ? undefined : result;
    }
    if (s.closed) return undefined;
  }
}

type Step = 'next' | 'bad' | 'end' | UpstreamSession;

async function command(s: ClientSession, c: ImapCommand): Promise<Step> {
  const { tag } = c;
  switch (c.name) {
    case 'CAPABILITY':
      s.write(`* CAPABILITY ${capabilities(s)}\r\n${tag} OK Pre-login capabilities listed, post-login capabilities have more.\r\n`);
      return 'next';
    case 'NOOP':
      s.write(`${tag} OK NOOP completed.\r\n`);
      return 'next';
    case 'ID':
      s.write(`* ID ("name" "authrelay")\r\n${tag} OK ID completed.\r\n`);
      return 'next';
    case 'LOGOUT':
      s.end(`* BYE Logging out.\r\n${tag} OK Logout completed.\r\n`);
      return 'end';
    case 'STARTTLS':
      if (s.secure) return reply(s, `${tag} BAD TLS is already active.`, 'bad');
      if (!s.canStartTls) return reply(s, `${tag} BAD STARTTLS is not available on this port.`, 'bad');
      return (await s.startTls(`${tag} OK Begin TLS negotiation now.\r\n`)) ? 'next' : 'end';
    case 'LOGIN': {
      const user = argText(c.args[0]);
      const password = argText(c.args[1]);
      if (c.args.length !== 2 || user === undefined || password === undefined) return reply(s, `${tag} BAD LOGIN needs a user name and a password.`, 'bad');
      if (!s.plaintextAllowed) return reply(s, `${tag} ${PRIVACY}`, 'next');
      return answer(s, tag, await s.login({ mechanism: 'LOGIN', user, password }));
    }
    case 'AUTHENTICATE':
      return authenticate(s, c);
    default:
      return reply(s, `${tag} BAD Command not valid before login.`, 'bad');
  }
}

async function authenticate(s: ClientSession, c: ImapCommand): Promise<Step> {
  const { tag } = c;
  const mechanism = argText(c.args[0])?.toUpperCase();
  if (!mechanism || c.args.length > 2) return reply(s, `${tag} BAD AUTHENTICATE needs a mechanism name.`, 'bad');
  if (mechanism !== 'PLAIN') return reply(s, `${tag} NO [CANNOT] Unsupported authentication mechanism; use AUTHENTICATE PLAIN or LOGIN.`, 'next');
  if (!s.plaintextAllowed) return reply(s, `${tag} ${PRIVACY}`, 'next');
  let response = argText(c.args[1]);
  if (response === undefined) {
    s.write('+ \r\n');
    let line;
    try {
      line = await s.readLine();
    } catch (err) {
      if (err instanceof LineError) {
        s.readFailed(err);
        return 'end';
      }
      throw err;
    }
    if (line === null) return 'end';
    response = line.toString('latin1');
    if (response === '*') return reply(s, `${tag} BAD Authentication aborted by the client.`, 'next');
  }
  const plain = decodeSaslPlain(response);
  if (!plain) return reply(s, `${tag} BAD Invalid SASL PLAIN response.`, 'bad');
  return answer(s, tag, await s.login({ mechanism: 'PLAIN', user: plain.user, password: plain.password, ...(plain.authzid ? { authzid: plain.authzid } : {}) }));
}

function reply(s: ClientSession, line: string, step: 'next' | 'bad'): Step {
  s.write(`${line}\r\n`);
  return step;
}

/** The tagged answer to a login, and what the session does next. */
function answer(s: ClientSession, tag: string, o: LoginOutcome): Step {
  if (o.ok) {
    const caps = o.upstream.capabilities ? `[CAPABILITY ${o.upstream.capabilities}] ` : '';
    s.write(`${tag} OK ${caps}Logged in.\r\n`);
    return o.upstream;
  }
  if (o.refused === 'credentials') {
    if (o.locked) {
      s.end(`${tag} NO [UNAVAILABLE] Too many failed logins; try again later.\r\n${FAREWELL['locked-out']}`);
      return 'end';
    }
    const no = `${tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n`;
    if (o.close) {
      s.end(`${no}* BYE Too many failed logins.\r\n`);
      return 'end';
    }
    s.write(no);
    return 'next';
  }
  const code = o.explained.temporary ? 'UNAVAILABLE' : 'AUTHORIZATIONFAILED';
  const no = `${tag} NO [${code}] ${o.explained.clientText}\r\n`;
  if (o.close) {
    s.end(`${no}* BYE Too many failed logins.\r\n`);
    return 'end';
  }
  s.write(no);
  return 'next';
}
