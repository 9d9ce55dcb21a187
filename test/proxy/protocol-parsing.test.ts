/**
 * What the proxy reads before login, without a server: IMAP commands with
 * quoted strings and literals ({n} answered with "+", {n+} not, oversized
 * ones refused), SASL PLAIN decoding, the XOAUTH2 initial response and the
 * token claims used for explanations, and the line reader's limits and
 * per-line deadline against a slow client.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readImapCommand, argText } from '../../src/proxy/imap/imap-command.js';
import { decodeSaslPlain } from '../../src/proxy/common/sasl-plain.js';
import { tokenFacts, xoauth2InitialResponse } from '../../src/proxy/common/xoauth2.js';
import { LineError, LineReader } from '../../src/proxy/common/line-reader.js';

/** A command source fed from a list of chunks, recording what the parser wrote back. */
function source(input: string) {
  const stream = new PassThrough();
  const reader = new LineReader(stream, { maxLineLength: 1000, lineTimeoutMs: 1000, idleTimeoutMs: 1000 });
  const written: string[] = [];
  stream.write(Buffer.from(input, 'latin1'));
  return { src: { readLine: () => reader.readLine(), readBytes: (n: number) => reader.readBytes(n), write: (t: string) => void written.push(t) }, written, stream };
}

describe('IMAP command parsing', () => {
  test('atoms, quoted strings with escapes, and a LOGIN with literals', async () => {
    const a = source('a1 LOGIN "dev\\"ice" "p\\\\w d"\r\n');
    const r = await readImapCommand(a.src, 100);
    assert.equal(r.kind, 'command');
    if (r.kind !== 'command') return;
    assert.deepEqual([r.command.tag, r.command.name, r.command.args.map(argText)], ['a1', 'LOGIN', ['dev"ice', 'p\\w d']]);

    const b = source('a2 login {6}\r\nscan\x01r {3+}\r\np w\r\n');
    const r2 = await readImapCommand(b.src, 100);
    assert.equal(r2.kind === 'command' && r2.command.name, 'LOGIN');
    assert.deepEqual(r2.kind === 'command' && r2.command.args.map(argText), ['scan\x01r', 'p w']);
    assert.deepEqual(b.written, ['+ Ready for literal data\r\n'], 'only the synchronising literal gets a continuation');
  });

  test('ID lists, empty lines, bad tags, bad escapes, oversized literals', async () => {
    const id = await readImapCommand(source('x ID ("name" "imaplib" "version" NIL)\r\n').src, 100);
    assert.equal(id.kind === 'command' && id.command.name, 'ID');
    assert.deepEqual(await readImapCommand(source('\r\n').src, 100), { kind: 'bad', text: 'Empty command line.' });
    assert.equal((await readImapCommand(source('a+b NOOP\r\n').src, 100)).kind, 'bad');
    assert.equal((await readImapCommand(source('a LOGIN "x\\y" z\r\n').src, 100)).kind, 'bad');
    const big = source('a LOGIN {5000}\r\n');
    const r = await readImapCommand(big.src, 100);
    assert.deepEqual([r.kind, r.kind === 'bad' && r.close], ['bad', undefined]);
    assert.deepEqual(big.written, [], 'a literal too large is refused before the client sends it');
    const bigPlus = await readImapCommand(source('a LOGIN {5000+}\r\n').src, 100);
    assert.equal(bigPlus.kind === 'bad' && bigPlus.close, true, 'a non-synchronising one closes the connection');
  });
});

describe('SASL PLAIN and XOAUTH2', () => {
  test('PLAIN: authzid, user, password; strict base64 and shape', () => {
    const enc = (s: string) => Buffer.from(s).toString('base64');
    assert.deepEqual(decodeSaslPlain(enc('\0erp\0pw with spaces')), { authzid: '', user: 'erp', password: 'pw with spaces' });
    assert.deepEqual(decodeSaslPlain(enc('box@x\0erp\0pw')), { authzid: 'box@x', user: 'erp', password: 'pw' });
    for (const bad of ['=', enc('erp\0pw'), enc('a\0b\0c\0d'), enc('\0\0pw'), 'not base64!', `${enc('\0erp\0pw')}x`]) assert.equal(decodeSaslPlain(bad), undefined, bad);
  });

  test('the initial response carries the policy\'s mailbox; a mailbox with control characters is refused', () => {
    const ir = Buffer.from(xoauth2InitialResponse('box@contoso.com', 'tok.en.x'), 'base64').toString();
    assert.equal(ir, 'user=box@contoso.com\x01auth=Bearer tok.en.x\x01\x01');
    assert.throws(() => xoauth2InitialResponse('a@b\x01auth=Bearer x', 't'));
  });

  test('token facts: app id, service principal object id, roles', () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const t = `${b64({ typ: 'JWT' })}.${b64({ appid: 'app-1', oid: 'sp-1', tid: 't-1', idtyp: 'app', roles: ['IMAP.AccessAsApp'] })}.sig`;
    assert.deepEqual(tokenFacts(t), { appId: 'app-1', objectId: 'sp-1', tenantId: 't-1', roles: ['IMAP.AccessAsApp'], scopes: [], appOnly: true });
    const d = tokenFacts(`${b64({})}.${b64({ azp: 'app-2', scp: 'IMAP.AccessAsUser.All offline_access', upn: 'u@x' })}.s`);
    assert.deepEqual([d?.appOnly, d?.user, d?.scopes], [false, 'u@x', ['IMAP.AccessAsUser.All', 'offline_access']]);
    assert.equal(tokenFacts('opaque-token'), undefined);
  });
});

describe('line reader', () => {
  test('a line longer than the limit is an error; bytes left unread come back on detach', async () => {
    const s = new PassThrough();
    const r = new LineReader(s, { maxLineLength: 10, lineTimeoutMs: 1000, idleTimeoutMs: 1000 });
    s.write('short\r\nthis line is too long\r\n');
    assert.equal((await r.readLine())?.toString(), 'short');
    await assert.rejects(r.readLine(), (e: unknown) => e instanceof LineError && e.reason === 'too-long');
    const s2 = new PassThrough();
    const r2 = new LineReader(s2, { maxLineLength: 100, lineTimeoutMs: 1000, idleTimeoutMs: 1000 });
    s2.write('one\r\ntwo\r\nthr');
    assert.equal((await r2.readLine())?.toString(), 'one');
    assert.equal(r2.detach().toString(), 'two\r\nthr');
  });

  test('a line trickled byte by byte past the per-line deadline fails; idle waiting has its own limit', { timeout: 10_000 }, async () => {
    const s = new PassThrough();
    const r = new LineReader(s, { maxLineLength: 100, lineTimeoutMs: 300, idleTimeoutMs: 5_000 });
    const trickle = setInterval(() => s.write('x'), 50);
    const started = Date.now();
    await assert.rejects(r.readLine(), (e: unknown) => e instanceof LineError && e.reason === 'line-timeout');
    clearInterval(trickle);
    assert.ok(Date.now() - started < 1_500, 'bytes arriving do not extend the deadline');
    const s2 = new PassThrough();
    const r2 = new LineReader(s2, { maxLineLength: 100, lineTimeoutMs: 5_000, idleTimeoutMs: 200 });
    // The reader's timers do not hold the process open (a socket does, in a server): hold it here.
    const hold = setInterval(() => undefined, 1_000);
    await assert.rejects(r2.readLine(), (e: unknown) => e instanceof LineError && e.reason === 'idle-timeout');
    clearInterval(hold);
  });
});
