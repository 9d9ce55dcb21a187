/**
 * A private Dovecot 2.3 (Debian's dovecot-imapd and dovecot-pop3d) as the
 * tests' Exchange Online: IMAPS and POP3S on free loopback ports, its own
 * base_dir, log and maildirs in a temporary directory, and the oauth2
 * passdb validating the emulator's app tokens locally
 * (reference/migration-and-imap.md B.5): signature with the emulator's key
 * (keys/<azp>/RS256/<kid>), expiry, issuer, audience
 * https://outlook.office365.com, and the permission per protocol
 * (IMAP.AccessAsApp for imap, POP.AccessAsApp for pop3, read from the
 * `scope` claim the emulator adds for them).
 *
 * An app-only token names no mailbox: as with Exchange, the XOAUTH2 `user=`
 * field chooses it. Dovecot compares username_attribute with the SASL user
 * after username_format on both sides, so the format is a constant here
 * (the check always passes) and the token's `sub` only has to exist.
 * Exchange's per-mailbox FullAccess grant has no counterpart: the tests show
 * that authrelay never asks for a mailbox outside the device's list.
 *
 * With `delegated`, a second passdb per protocol validates tokens of a
 * signed-in user the way Exchange decides for them: the delegated
 * permission, and the mailbox (`user=`) equal to the token's user.
 *
 * Mailboxes are maildirs filled by the test (deliver() writes tmp/, then
 * renames into new/, so IDLE sees whole messages), owned by the `mail` user.
 * A machine without Dovecot fails the test with the apt-get line.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from './tools.js';

export const DOVECOT = '/usr/sbin/dovecot';
export const EXCHANGE_AUDIENCE = 'https://outlook.office365.com';

export interface DovecotOptions {
  /** Accepted token issuers, e.g. https://sts.windows.net/<tenant id>/. */
  issuers: string[];
  /** Token signing keys, by the client id (`azp`) of the apps that get tokens. */
  keys: { azp: string; kid: string; pem: string }[];
  /** PEM files of the TLS certificate and key. */
  tls: { cert: string; key: string };
  /**
   * Also accept delegated tokens (a user signed in by device code): a second
   * passdb per protocol that wants IMAP.AccessAsUser.All / POP.AccessAsUser.All
   * in the `scope` claim, this audience, and the token's `upn` equal to the
   * SASL user (the mailbox), as Exchange opens only the signed-in user's
   * mailbox (or one it has FullAccess to, which has no counterpart here).
   */
  delegated?: { audience: string };
}

export interface Dovecot {
  readonly imapPort: number;
  readonly pop3Port: number;
  readonly dir: string;
  /** Puts a message into the user's INBOX; answers the maildir file's path. */
  deliver(user: string, raw: Buffer): string;
  /** The maildir files of the user's INBOX (new/ and cur/). */
  messages(user: string): string[];
  /** Dovecot's log so far. */
  log(): string;
  /** Log lines of successful logins, optionally for one user. */
  logins(user?: string): string[];
  stop(): Promise<void>;
}

/** Fails (never skips) when Dovecot is missing. */
export function requireDovecot(): void {
  const missing = [DOVECOT, '/usr/lib/dovecot/imap', '/usr/lib/dovecot/pop3'].filter((f) => !existsSync(f));
  if (missing.length) throw new Error(`Dovecot is not installed (${missing.join(', ')} missing): apt-get install dovecot-imapd dovecot-pop3d`);
}

function mailUser(): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', 'mail'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'mail'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error('the system has no "mail" user for the maildirs');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function oauth2Conf(dir: string, o: DovecotOptions, scope: string): string {
  return [
    'introspection_mode = local',
    `local_validation_key_dict = fs:posix:prefix=${dir}/keys/`,
    `issuers = ${o.issuers.join(' ')}`,
    `audience = ${EXCHANGE_AUDIENCE}`,
    `scope = ${scope}`,
    'username_attribute = sub',
    'username_format = app-only-token',
    '',
  ].join('\n');
}

function delegatedOauth2Conf(dir: string, o: DovecotOptions, audience: string, scope: string): string {
  return [
    'introspection_mode = local',
    `local_validation_key_dict = fs:posix:prefix=${dir}/keys/`,
    `issuers = ${o.issuers.join(' ')}`,
    `audience = ${audience}`,
    `scope = ${scope}`,
    'username_attribute = upn',
    '',
  ].join('\n');
}

function dovecotConf(dir: string, o: DovecotOptions, imapPort: number, pop3Port: number, uid: number): string {
  // Passdbs are tried in order: an app token passes the first; a delegated one fails it and is tried by the second.
  const delegated = (proto: string) => (o.delegated ? `\n  passdb {\n    driver = oauth2\n    mechanisms = xoauth2 oauthbearer\n    args = ${dir}/${proto}.delegated.oauth2.conf.ext\n  }` : '');
  const passdb = (proto: string) => `protocol ${proto} {\n  mail_max_userip_connections = 100\n  passdb {\n    driver = oauth2\n    mechanisms = xoauth2 oauthbearer\n    args = ${dir}/${proto}.oauth2.conf.ext\n  }${delegated(proto)}\n}`;
  return `
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = authrelay-test-${randomBytes(4).toString('hex')}
log_path = ${dir}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = required
ssl_cert = <${o.tls.cert}
ssl_key = <${o.tls.key}
ssl_dh = </usr/share/dovecot/dh.pem
ssl_min_protocol = TLSv1.2
auth_mechanisms = xoauth2 oauthbearer
auth_verbose = yes
auth_failure_delay = 0
first_valid_uid = ${uid}
mail_location = maildir:${dir}/mail/%Lu
default_login_user = dovenull
default_internal_user = dovecot
${passdb('imap')}
${passdb('pop3')}
userdb {
  driver = static
  args = uid=mail gid=mail home=${dir}/mail/%Lu allow_all_users=yes
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = ${imapPort}
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = ${pop3Port}
    ssl = yes
  }
}
`;
}

async function waitForPort(port: number, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dovecot exited with ${child.exitCode}: ${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`dovecot did not listen on ${port}: ${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startDovecot(o: DovecotOptions): Promise<Dovecot> {
  requireDovecot();
  const { uid, gid } = mailUser();
  const dir = mkdtempSync(join(tmpdir(), 'authrelay-dovecot-'));
  chmodSync(dir, 0o755);
  for (const d of ['run', 'state', 'keys', 'mail']) mkdirSync(join(dir, d));
  chownSync(join(dir, 'mail'), uid, gid);
  for (const k of o.keys) {
    mkdirSync(join(dir, 'keys', k.azp, 'RS256'), { recursive: true });
    writeFileSync(join(dir, 'keys', k.azp, 'RS256', k.kid), k.pem);
  }
  writeFileSync(join(dir, 'imap.oauth2.conf.ext'), oauth2Conf(dir, o, 'IMAP.AccessAsApp'));
  writeFileSync(join(dir, 'pop3.oauth2.conf.ext'), oauth2Conf(dir, o, 'POP.AccessAsApp'));
  if (o.delegated) {
    writeFileSync(join(dir, 'imap.delegated.oauth2.conf.ext'), delegatedOauth2Conf(dir, o, o.delegated.audience, 'IMAP.AccessAsUser.All'));
    writeFileSync(join(dir, 'pop3.delegated.oauth2.conf.ext'), delegatedOauth2Conf(dir, o, o.delegated.audience, 'POP.AccessAsUser.All'));
  }
  const [imapPort, pop3Port] = [await freePort(), await freePort()];
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(conf, dovecotConf(dir, o, imapPort, pop3Port, uid));
  const logFile = join(dir, 'dovecot.log');
  const child = spawn(DOVECOT, ['-F', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  try {
    await waitForPort(imapPort, child, logFile);
    await waitForPort(pop3Port, child, logFile);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${output}`, { cause: err });
  }
  const inbox = (user: string) => join(dir, 'mail', user.toLowerCase());
  const ensureMaildir = (user: string) => {
    const root = inbox(user);
    for (const d of [root, join(root, 'tmp'), join(root, 'new'), join(root, 'cur')]) {
      if (!existsSync(d)) {
        mkdirSync(d);
        chownSync(d, uid, gid);
      }
    }
    return root;
  };
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  return {
    imapPort,
    pop3Port,
    dir,
    deliver(user, raw) {
      const root = ensureMaildir(user);
      const name = `${Date.now()}.M${randomBytes(6).toString('hex')}.authrelay-test,S=${raw.length}`;
      const tmp = join(root, 'tmp', name);
      writeFileSync(tmp, raw);
      chownSync(tmp, uid, gid);
      const file = join(root, 'new', name);
      renameSync(tmp, file);
      return file;
    },
    messages(user) {
      const root = inbox(user);
      return ['new', 'cur'].flatMap((d) => (existsSync(join(root, d)) ? readdirSync(join(root, d)).map((f) => join(root, d, f)) : []));
    },
    log,
    logins(user) {
      return log().split('\n').filter((l) => /-login: Info: Login: user=</.test(l) && (!user || l.toLowerCase().includes(`user=<${user.toLowerCase()}>`)));
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
