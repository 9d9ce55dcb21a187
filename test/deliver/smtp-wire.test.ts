/**
 * What the smtp transport says on the wire, seen by real servers: Postfix's
 * smtp-sink (its dump file records the EHLO name and the MAIL FROM and RCPT
 * TO parameters it received) and smtp-server (the test upstream, which
 * offers SMTPUTF8). EHLO carries the relay's host name or `helo`;
 * BODY=8BITMIME goes with an 8-bit message and not with a 7-bit one, whether
 * receive recorded it or the transport looked; SMTPUTF8 goes with a message
 * whose address needs it when the upstream offers it, and without it the
 * message fails with the reason and nothing is sent.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smtpUpstreamSchema } from '../../src/config/schema.js';
import { SmtpTransport } from '../../src/deliver/smtp/smtp.js';
import type { OutboundMessage } from '../../src/deliver/transport.js';
import { outbound, simpleBody } from '../contract/transport-contract.js';
import { startSmtpSink, type SmtpSink } from '../helpers/tools.js';
import { startUpstream } from '../helpers/upstream.js';

const signal = () => new AbortController().signal;
const EIGHT_BIT = Buffer.from('From: scanner@contoso.com\r\nTo: alice@contoso.com\r\nSubject: scan\r\nMIME-Version: 1.0\r\n'
  + 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nスキャンした文書です。\r\n', 'utf8');
/** 7-bit for 100 KB, then one 8-bit line: longer than the part the transport looks at. */
const LATE_EIGHT_BIT = Buffer.concat([simpleBody(`\r\n${'seven bit line\r\n'.repeat(7000)}`), Buffer.from('é\r\n', 'latin1')]);

let dir: string;
let sink: SmtpSink;
let sinkNo8bit: SmtpSink;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'authrelay-wire-'));
  sink = await startSmtpSink(['-d', `${join(dir, 'with')}/%H%M%S.`]);
  sinkNo8bit = await startSmtpSink(['-8', '-d', `${join(dir, 'without')}/%H%M%S.`]);
});

after(async () => {
  await sink?.stop();
  await sinkNo8bit?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function transport(port: number, extra: Record<string, unknown> = {}, hostname = 'relay.contoso.test'): SmtpTransport {
  return new SmtpTransport('relay', smtpUpstreamSchema.parse({ type: 'smtp', host: '127.0.0.1', port, tls: 'none', connectTimeout: '5s', ...extra }), { hostname });
}

/** The transactions smtp-sink wrote to its dump folder, with the SMTP arguments it received, newest last. */
function dumps(folder: string): { helo: string; mail: string; rcpt: string[]; subject: string }[] {
  const path = join(dir, folder);
  let names: string[];
  try {
    names = readdirSync(path, { recursive: true }) as string[];
  } catch {
    return [];
  }
  return names.map((n) => join(path, n)).filter((f) => /\.[0-9a-f]+$/.test(f)).map((f) => {
    const text = readFileSync(f, 'utf8');
    const field = (name: string) => [...text.matchAll(new RegExp(`^${name}: (.*)$`, 'gm'))].map((m) => m[1]!);
    return { helo: field('X-Helo-Args')[0] ?? '', mail: field('X-Mail-Args')[0] ?? '', rcpt: field('X-Rcpt-Args'), subject: field('Subject')[0] ?? '' };
  });
}

async function sendOne(t: SmtpTransport, m: OutboundMessage, folder: string) {
  const before = dumps(folder).length;
  const out = await t.deliver(m, { signal: signal() });
  // smtp-sink writes the dump as the transaction ends
  for (let i = 0; i < 50 && out[0]!.outcome.action === 'delivered' && dumps(folder).length === before; i++) await new Promise((r) => setTimeout(r, 20));
  return { out, dump: dumps(folder).find((d) => d.rcpt.some((r) => r.startsWith(`<${m.recipients[0]!.split('@')[0]!}@`))) };
}

test('EHLO carries the relay\'s host name, or the upstream\'s helo; never [127.0.0.1]', async () => {
  const byHostname = transport(sink.port);
  const byHelo = transport(sink.port, { helo: 'mail.contoso.test' });
  try {
    const a = await sendOne(byHostname, outbound({ recipients: ['helo-a@contoso.com'] }), 'with');
    assert.equal(a.out[0]!.outcome.action, 'delivered', JSON.stringify(a.out));
    assert.equal(a.dump?.helo, 'relay.contoso.test');
    const b = await sendOne(byHelo, outbound({ recipients: ['helo-b@contoso.com'] }), 'with');
    assert.equal(b.dump?.helo, 'mail.contoso.test');
    assert.equal(byHostname.helo, 'relay.contoso.test');
    assert.notEqual(transport(sink.port, {}, '').helo, '[127.0.0.1]', 'without a configured name: the system host name');
  } finally {
    await byHostname.close();
    await byHelo.close();
  }
});

test('BODY=8BITMIME with an 8-bit message, none with a 7-bit one (recorded at receive, or looked at by the transport)', async () => {
  const t = transport(sink.port);
  const cases: { rcpt: string; body: Buffer; eightBit?: boolean; expect: boolean }[] = [
    { rcpt: 'looked-8bit@contoso.com', body: EIGHT_BIT, expect: true },
    { rcpt: 'looked-7bit@contoso.com', body: simpleBody(), expect: false },
    { rcpt: 'looked-late@contoso.com', body: LATE_EIGHT_BIT, expect: true },
    { rcpt: 'recorded-8bit@contoso.com', body: EIGHT_BIT, eightBit: true, expect: true },
    { rcpt: 'recorded-7bit@contoso.com', body: simpleBody(), eightBit: false, expect: false },
  ];
  try {
    for (const c of cases) {
      const m = { ...outbound({ recipients: [c.rcpt], body: c.body, chunk: 1000 }), ...(c.eightBit !== undefined ? { eightBit: c.eightBit } : {}) };
      const { out, dump } = await sendOne(t, m, 'with');
      assert.equal(out[0]!.outcome.action, 'delivered', `${c.rcpt}: ${JSON.stringify(out)}`);
      assert.ok(dump, `${c.rcpt}: no dump`);
      assert.equal(/\bBODY=8BITMIME\b/.test(dump.mail), c.expect, `${c.rcpt}: MAIL FROM ${dump.mail}`);
      assert.match(dump.mail, /^<scanner@contoso\.com>/);
    }
  } finally {
    await t.close();
  }
  // An upstream that does not offer 8BITMIME gets no BODY parameter (and the message as it is).
  const plain = transport(sinkNo8bit.port);
  try {
    const { out, dump } = await sendOne(plain, outbound({ recipients: ['no8bit@contoso.com'], body: EIGHT_BIT }), 'without');
    assert.equal(out[0]!.outcome.action, 'delivered');
    assert.ok(dump && !/BODY=/.test(dump.mail), dump?.mail);
  } finally {
    await plain.close();
  }
});

test('the whole message goes out as stored after the transport looked at it', async () => {
  const up = await startUpstream();
  const t = new SmtpTransport('relay', smtpUpstreamSchema.parse({ type: 'smtp', host: '127.0.0.1', port: up.port, tls: 'none' }), { hostname: 'relay.contoso.test' });
  try {
    for (const body of [EIGHT_BIT, simpleBody(), LATE_EIGHT_BIT]) {
      const out = await t.deliver(outbound({ recipients: ['alice@contoso.com'], body, chunk: 4096 }), { signal: signal() });
      assert.equal(out[0]!.outcome.action, 'delivered');
      assert.ok(up.received.at(-1)!.data.equals(body), 'the bytes received are the bytes stored');
    }
    assert.deepEqual(up.received.map((r) => r.mailArgs.BODY), ['8BITMIME', undefined, '8BITMIME']);
    assert.equal(up.received[0]!.helo, 'relay.contoso.test');
    // A stored message without a line end at its end gets one before the final dot, and nothing else changes.
    const open = Buffer.from('Subject: no line end\r\n\r\nlast line.', 'latin1');
    const out = await t.deliver(outbound({ recipients: ['alice@contoso.com'], body: open, chunk: 7 }), { signal: signal() });
    assert.equal(out[0]!.outcome.action, 'delivered');
    assert.equal(up.received.at(-1)!.data.toString('latin1'), `${open.toString('latin1')}\r\n`);
  } finally {
    await t.close();
    await up.kill();
  }
});

test('SMTPUTF8 when an address needs it and the upstream offers it; an IDN domain goes in its ASCII form without it', async () => {
  const up = await startUpstream();
  const t = transport(up.port);
  try {
    const out = await t.deliver(outbound({ sender: 'scanner@contoso.com', recipients: ['müller@contoso.com', 'alice@contoso.com'], body: EIGHT_BIT }), { signal: signal() });
    assert.deepEqual(out.map((o) => o.outcome.action), ['delivered', 'delivered'], JSON.stringify(out));
    const got = up.received.at(-1)!;
    const args = got.mailArgs;
    assert.equal(args.SMTPUTF8, true, JSON.stringify(args));
    assert.equal(args.BODY, '8BITMIME');
    assert.deepEqual(got.to, ['müller@contoso.com', 'alice@contoso.com']);
  } finally {
    await t.close();
    await up.kill();
  }
  const viaSink = transport(sink.port);
  try {
    const { out, dump } = await sendOne(viaSink, outbound({ recipients: ['info@bücher.de'] }), 'with');
    assert.equal(out[0]!.outcome.action, 'delivered');
    assert.deepEqual(dump?.rcpt, ['<info@xn--bcher-kva.de>']);
    assert.ok(!/SMTPUTF8/.test(dump.mail), dump.mail);
  } finally {
    await viaSink.close();
  }
});

test('an upstream without SMTPUTF8: the message fails with the reason and what to do; nothing is sent', async () => {
  const t = transport(sink.port);
  const lines: string[] = [];
  try {
    const before = dumps('with').length;
    for (const m of [
      outbound({ recipients: ['山田@contoso.com', 'alice@contoso.com'] }),
      outbound({ sender: 'müller@contoso.com', recipients: ['alice@contoso.com'] }),
    ]) {
      const out = await t.deliver(m, { signal: signal(), trace: (step, d) => lines.push(`${step} ${JSON.stringify(d ?? {})}`) });
      for (const { outcome } of out) {
        assert.deepEqual([outcome.action, outcome.scope, outcome.category, outcome.ref], ['fail', 'message', 'smtputf8', 'generic.smtputf8-not-offered']);
        assert.match(outcome.response ?? '', /does not offer SMTPUTF8, which (山田|müller)@contoso\.com needs/);
        assert.match(outcome.fix ?? '', /ASCII address/);
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(dumps('with').length, before, 'no transaction reached the upstream');
    assert.ok(lines.some((l) => l.startsWith('smtp-client') && l.includes('EHLO relay.contoso.test')), 'the upstream was asked what it offers');
    assert.ok(!lines.some((l) => l.includes('MAIL FROM')), 'no MAIL FROM was sent');
  } finally {
    await t.close();
  }
});
