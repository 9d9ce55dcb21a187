/**
 * Bare CR, bare LF and NUL in DATA: normalised to CRLF for a network-trusted
 * device, refused with a 5xx naming the offence for a password-only device.
 * SMTP smuggling: none of the sequences SEC Consult / smtpsmug test ends DATA
 * early; a smuggled second transaction is only ever content (normalised) or
 * the message is refused — exactly one message is stored, and the session
 * stays in step (the next reply answers the next command).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/identity/password.js';
import { startTestRelay, queueIdOf, type TestRelay } from '../helpers/relay.js';
import { sharedCertificate } from '../helpers/cert.js';
import { swaks } from '../helpers/tools.js';
import { startUpstream } from '../helpers/upstream.js';
import { SmtpWire, readAll, splitReceived } from '../helpers/smtp-wire.js';

const LAN_IP = '127.0.0.2';
const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');

/** Inbound sequences of SEC Consult's scanner plus the outbound extras (section 1 of the reference). */
const SMUGGLING: Record<string, string> = {
  lflf: '\n.\n',
  lfcr: '\n.\r',
  crlf: '\r.\n',
  crcr: '\r.\r',
  lfcrlf: '\n.\r\n',
  crcrlf: '\r.\r\n',
  nullbefore: '\r\n\x00.\r\n',
  nullafter: '\r\n.\x00\r\n',
  crlfcrcrlf: '\r\n.\r\r\n',
  crcrlfcrcrlf: '\r\r\n.\r\r\n',
};

const SMUGGLED =
  'MAIL FROM:<ceo@victim.example>\r\nRCPT TO:<finance@victim.example>\r\nDATA\r\n' +
  'From: ceo@victim.example\r\nSubject: smuggled\r\n\r\nwire the money\r\n';

function smugglingPayload(seq: string): string {
  return 'From: scanner@printer.local\r\nTo: user@example.com\r\nSubject: outer\r\n\r\nfirst line\r\ntext' + seq + SMUGGLED + '.\r\n';
}

describe('bare line endings and SMTP smuggling', () => {
  let relay: TestRelay;
  let tmp: string;
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'authrelay-lf-'));
    relay = await startTestRelay({
      tls: await sharedCertificate(),
      trustLoopback: false,
      listeners: [{ name: 'plain', host: '127.0.0.1', port: 0, tls: 'none', allowInsecureAuth: true }],
      devices: [
        { name: 'lan-scanner', networks: [`${LAN_IP}/32`] },
        { name: 'pw-mfp', username: 'mfp', passwordHash: await hashPassword('pw') },
      ],
    });
  });
  after(async () => {
    await relay.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function session(kind: 'trusted' | 'password'): Promise<SmtpWire> {
    const w = await SmtpWire.open(relay.port('plain'), kind === 'trusted' ? { localAddress: LAN_IP } : {});
    assert.equal((await w.cmd('EHLO scanner')).code, 250);
    if (kind === 'password') assert.equal((await w.cmd(`AUTH PLAIN ${b64('\0mfp\0pw')}`)).code, 235);
    return w;
  }

  async function transfer(w: SmtpWire, payload: string | Buffer, writes = 1): Promise<{ code: number; raw: string }> {
    assert.equal((await w.cmd('MAIL FROM:<scanner@printer.local>')).code, 250);
    assert.equal((await w.cmd('RCPT TO:<user@example.com>')).code, 250);
    assert.equal((await w.cmd('DATA')).code, 354);
    const buf = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
    const step = Math.ceil(buf.length / writes);
    for (let i = 0; i < buf.length; i += step) {
      w.write(buf.subarray(i, i + step));
      if (writes > 1) await new Promise((r) => setTimeout(r, 5));
    }
    const end = await w.read();
    // In step: the next reply is the NOOP's, not one for a smuggled command.
    const noop = await w.cmd('NOOP');
    assert.equal(noop.code, 250, `after DATA the session is out of step: ${noop.raw} (pending ${JSON.stringify(w.pending)})`);
    assert.equal(w.pending, '', 'no further replies');
    return end;
  }

  async function stored(id: string): Promise<Buffer> {
    const msg = await relay.waitFor(id, ['held']);
    return readAll(relay.store.openBody(msg.bodyId));
  }

  test('bare LF from a network-trusted device (swaks --no-data-fixup) is stored with CRLF', async () => {
    const file = join(tmp, 'barelf.eml');
    writeFileSync(file, 'From: scanner@printer.local\nTo: user@example.com\nSubject: bare lf\n\nline one\nline two\r\n.\r\n');
    const r = await swaks(relay.port('plain'), [
      '--local-interface', LAN_IP, '--ehlo', 'scanner', '--from', 'scanner@printer.local', '--to', 'user@example.com', '--data', `@${file}`, '--no-data-fixup',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const id = queueIdOf(r.stdout);
    const { received, rest } = splitReceived(await stored(id));
    assert.match(received, /^Received: from scanner \(\[127\.0\.0\.2\]\)/);
    assert.equal(rest.toString('latin1'), 'From: scanner@printer.local\r\nTo: user@example.com\r\nSubject: bare lf\r\n\r\nline one\r\nline two\r\n');
    const msg = await relay.store.get(id);
    assert.ok(msg?.notes?.some((n) => /normalised line endings \(bare LF 5/.test(n)), JSON.stringify(msg?.notes));
    assert.equal(msg?.subject, 'bare lf');
  });

  test('bare CR and NUL from a network-trusted device (raw socket) are normalised', async () => {
    const w = await session('trusted');
    try {
      const end = await transfer(w, 'Subject: cr\r\n\r\nold\rmac\rlines\r\nnul\x00here\r\n.\r\n');
      assert.equal(end.code, 250, end.raw);
      const { rest } = splitReceived(await stored(queueIdOf(end.raw)));
      assert.equal(rest.toString('latin1'), 'Subject: cr\r\n\r\nold\r\nmac\r\nlines\r\nnulhere\r\n');
    } finally {
      w.close();
    }
  });

  for (const [what, payload, name] of [
    ['bare LF', 'Subject: x\r\n\r\nline one\nline two\r\n.\r\n', /bare LF/],
    ['bare CR', 'Subject: x\r\n\r\nline one\rline two\r\n.\r\n', /bare CR/],
    ['NUL', 'Subject: x\r\n\r\nline\x00one\r\n.\r\n', /NUL/],
    ['bare LF in the header', 'Subject: x\nTo: a@b.example\r\n\r\nbody\r\n.\r\n', /bare LF/],
  ] as const) {
    test(`${what} from a password-only device is refused with 554 5.6.11 naming it`, async () => {
      const before = (await relay.store.list({})).length;
      const w = await session('password');
      try {
        const end = await transfer(w, payload);
        assert.equal(end.code, 554, end.raw);
        assert.match(end.raw, /^554 5\.6\.11 /);
        assert.match(end.raw, name);
        // The session continues: a clean message right after is accepted.
        const ok = await transfer(w, 'Subject: clean\r\n\r\nclean\r\n.\r\n');
        assert.equal(ok.code, 250, ok.raw);
      } finally {
        w.close();
      }
      assert.equal((await relay.store.list({})).length, before + 1);
    });
  }

  test('swaks --no-data-fixup with bare LF as the password device: refused naming bare LF', async () => {
    const file = join(tmp, 'barelf-auth.eml');
    writeFileSync(file, 'Subject: lf\n\nscan\r\n.\r\n');
    const r = await swaks(relay.port('plain'), [
      '--auth', 'PLAIN', '--auth-user', 'mfp', '--auth-password', 'pw',
      '--from', 'scanner@printer.local', '--to', 'user@example.com', '--data', `@${file}`, '--no-data-fixup',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /<\*\* +554 5\.6\.11 Message refused: it contains a bare LF/);
  });

  for (const [name, seq] of Object.entries(SMUGGLING)) {
    test(`smuggling ${name} (${JSON.stringify(seq)}): trusted device gets one normalised message, password device a refusal`, async () => {
      const before = await relay.store.list({});
      const t = await session('trusted');
      let id: string;
      try {
        const end = await transfer(t, smugglingPayload(seq));
        assert.equal(end.code, 250, end.raw);
        id = queueIdOf(end.raw);
      } finally {
        t.close();
      }
      const body = (await stored(id)).toString('latin1');
      assert.ok(!/[^\r]\n|\r[^\n]/.test(body) && !body.includes('\0'), `stored body still has a bare CR/LF/NUL: ${JSON.stringify(body)}`);
      assert.ok(body.includes('\r\nMAIL FROM:<ceo@victim.example>\r\nRCPT TO:<finance@victim.example>\r\nDATA\r\n'), 'smuggled commands kept as content');
      assert.ok(body.endsWith('\r\nwire the money\r\n'));

      const p = await session('password');
      try {
        const end = await transfer(p, smugglingPayload(seq));
        assert.equal(end.code, 554, end.raw);
        assert.match(end.raw, /^554 5\.6\.11 Message refused: it contains (a bare LF|a bare CR|a NUL character)/);
      } finally {
        p.close();
      }

      const after = await relay.store.list({});
      assert.equal(after.length, before.length + 1, 'exactly one message stored');
      const fresh = after.filter((m) => !before.some((b) => b.id === m.id));
      assert.deepEqual(fresh.map((m) => [m.sender, m.recipients]), [['scanner@printer.local', ['user@example.com']]]);
      assert.ok(!after.some((m) => m.sender === 'ceo@victim.example' || m.recipients.includes('finance@victim.example')));
    });
  }

  test('smuggling payload split over many small TCP writes: still one message', async () => {
    const before = (await relay.store.list({})).length;
    const w = await session('trusted');
    try {
      const end = await transfer(w, smugglingPayload('\n.\r\n'), 40);
      assert.equal(end.code, 250, end.raw);
    } finally {
      w.close();
    }
    assert.equal((await relay.store.list({})).length, before + 1);
  });

  test('a dot-stuffed line and a lone "." line inside content survive as content (CRLF.CRLF is the only end)', async () => {
    const w = await session('password');
    try {
      const end = await transfer(w, 'Subject: dots\r\n\r\n..leading dot\r\n..\r\nafter\r\n.\r\n');
      assert.equal(end.code, 250, end.raw);
      const { rest } = splitReceived(await stored(queueIdOf(end.raw)));
      assert.equal(rest.toString('latin1'), 'Subject: dots\r\n\r\n.leading dot\r\n.\r\nafter\r\n');
    } finally {
      w.close();
    }
  });
});

describe('normalised smuggling payloads delivered upstream', () => {
  test('a "." line made by normalising stays content on the way out: the upstream gets one message each', async () => {
    const upstream = await startUpstream();
    const relay = await startTestRelay({
      tls: await sharedCertificate(),
      trustLoopback: false,
      listeners: [{ name: 'plain', host: '127.0.0.1', port: 0, tls: 'none' }],
      upstreams: { up: { type: 'smtp', host: '127.0.0.1', port: upstream.port, tls: 'none' } },
      devices: [{ name: 'lan-scanner', networks: [`${LAN_IP}/32`] }],
    });
    try {
      const seqs = ['\n.\n', '\r\n\x00.\r\n', '\r.\r'];
      for (const seq of seqs) {
        const w = await SmtpWire.open(relay.port('plain'), { localAddress: LAN_IP });
        try {
          await w.cmd('EHLO scanner');
          await w.cmd('MAIL FROM:<scanner@printer.local>');
          await w.cmd('RCPT TO:<user@example.com>');
          await w.cmd('DATA');
          w.write(smugglingPayload(seq));
          const end = await w.read();
          assert.equal(end.code, 250, end.raw);
          await relay.waitFor(queueIdOf(end.raw), ['delivered']);
        } finally {
          w.close();
        }
      }
      await upstream.waitForCount(seqs.length);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(upstream.received.length, seqs.length, 'one upstream message per accepted message');
      for (const got of upstream.received) {
        assert.equal(got.from, 'scanner@printer.local');
        assert.deepEqual(got.to, ['user@example.com']);
        const text = got.data.toString('latin1');
        assert.ok(text.includes('\r\ntext\r\n.\r\nMAIL FROM:<ceo@victim.example>\r\n'), JSON.stringify(text));
        assert.ok(text.endsWith('wire the money\r\n'));
      }
    } finally {
      await relay.close();
      await upstream.close();
    }
  });
});
