/**
 * fetchmail (Debian's), the kind of program issue 14 is for, fetches a
 * mailbox through the proxy by IMAP and by POP3 over implicit TLS,
 * verifying the proxy's certificate, logging in with the device's password:
 * as the device's username (IMAP) and with the mailbox address as the user
 * (POP3). Every message arrives whole through its MDA.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProxyListener } from '../../src/proxy/listener.js';
import { run } from '../helpers/tools.js';
import { PASSWORD, smallMessage, startProxy, startWorld, type World } from './fixture.js';

const SUBJECTS = ['scan 1 of 3', 'scan 2 of 3', 'scan 3 of 3'];

describe('fetchmail through the proxy', () => {
  let w: World;
  let dir: string;
  const proxies: ProxyListener[] = [];
  before(async () => {
    if (!existsSync('/usr/bin/fetchmail')) throw new Error('fetchmail is not installed: apt-get install fetchmail');
    w = await startWorld();
    for (const s of SUBJECTS) w.dovecot.deliver(w.alice, smallMessage(s));
    dir = mkdtempSync(join(tmpdir(), 'authrelay-fetchmail-'));
  });
  after(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await w.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const fetch = async (proto: 'IMAP' | 'POP3', port: number, user: string) => {
    const outDir = mkdtempSync(join(dir, `${proto.toLowerCase()}-mail-`));
    const homeDir = mkdtempSync(join(dir, `${proto.toLowerCase()}-home-`));
    const rc = join(homeDir, 'fetchmailrc');
    writeFileSync(rc, [
      'set no syslog',
      'set no bouncemail',
      `poll 127.0.0.1 with proto ${proto} port ${port} timeout 60`,
      `  user "${user}" there with password "${PASSWORD}" is root here`,
      `  ssl sslcertck sslcertfile "${w.certFile}" sslcommonname "relay.test" sslproto "TLS1.2+"`,
      '  keep fetchall',
      `  mda "/bin/sh -c 'cat > ${outDir}/msg-$$.eml'"`,
      '',
    ].join('\n'));
    chmodSync(rc, 0o600);
    const r = await run('fetchmail', ['-f', rc, '-v', '--nodetach'], { env: { ...process.env, HOME: homeDir, FETCHMAILHOME: homeDir }, timeoutMs: 60_000 });
    const files = readdirSync(outDir).map((f) => readFileSync(join(outDir, f), 'utf8'));
    return { ...r, files };
  };

  test('by IMAP, logging in as the device', { timeout: 90_000 }, async () => {
    const imap = await startProxy(w, { protocol: 'imap', tls: 'implicit' });
    proxies.push(imap);
    const r = await fetch('IMAP', imap.port, 'reader');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(r.files.length, SUBJECTS.length, r.stderr);
    for (const s of SUBJECTS) assert.ok(r.files.some((f) => f.includes(`Subject: ${s}\r\n`) || f.includes(`Subject: ${s}\n`)), s);
    assert.match(r.stdout, /IMAP< \* OK \[CAPABILITY IMAP4rev1 SASL-IR ID LITERAL\+ AUTH=PLAIN\] authrelay IMAP proxy ready\./);
  });

  test('by POP3, with the mailbox address as the user', { timeout: 90_000 }, async () => {
    const pop3 = await startProxy(w, { protocol: 'pop3', tls: 'implicit' });
    proxies.push(pop3);
    const r = await fetch('POP3', pop3.port, w.alice);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(r.files.length, SUBJECTS.length, r.stderr);
    for (const s of SUBJECTS) assert.ok(r.files.some((f) => f.includes(`Subject: ${s}`)), s);
    assert.equal(w.dovecot.messages(w.alice).length, SUBJECTS.length, 'keep: nothing deleted');
  });
});
