/**
 * The graph transport against the Microsoft 365 emulator over real HTTPS,
 * with real app tokens (TokenProviders): the shared transport contract,
 * then what only Graph has: the MIME as Microsoft receives it (Bcc added,
 * everything else byte for byte), large messages through a draft and upload
 * sessions, 4 requests per mailbox, throttling, outages, uncertain outcomes
 * and missing permissions.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { graphUpstreamSchema } from '../../src/config/schema.js';
import { HttpClient } from '../../src/core/http.js';
import { createLogger } from '../../src/core/log.js';
import { GraphTransport } from '../../src/deliver/graph/graph.js';
import { MailboxPacer } from '../../src/deliver/pacing.js';
import { TokenProviders } from '../../src/identity/entra/providers.js';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/api.js';
import { contoso, graphUpstream, type Contoso } from '../helpers/m365.js';
import { awkwardBody, outbound, transportContract, type TransportFixture } from '../contract/transport-contract.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator();
});
after(async () => {
  await emu?.close();
});

/** A TCP relay in front of the emulator's Graph port, so a test can make Graph unreachable and bring it back. */
async function tcpRelay(target: number): Promise<{ port: number; down(): Promise<void>; up(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let server: net.Server;
  let port = 0;
  const listen = async () => {
    server = net.createServer((s) => {
      const t = net.connect(target, '127.0.0.1');
      sockets.add(s).add(t);
      s.pipe(t).pipe(s);
      const end = () => { s.destroy(); t.destroy(); sockets.delete(s); sockets.delete(t); };
      s.on('error', end).on('close', end);
      t.on('error', end).on('close', end);
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  };
  await listen();
  return {
    get port() { return port; },
    down: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
    up: listen,
  };
}

interface GraphFixture extends TransportFixture {
  c: Contoso;
  transport: GraphTransport;
  logs: Record<string, unknown>[];
}

async function graphFixture(extra: Record<string, unknown> = {}): Promise<GraphFixture> {
  const c = contoso(emu);
  // The contract's messages are From scanner@contoso.com: the sending mailbox may send as it.
  emu.mailbox(c.scanner).sendAs.push('scanner@contoso.com');
  const relay = await tcpRelay(Number(new URL(emu.graphUrl).port));
  const cfg = graphUpstreamSchema.parse({ ...graphUpstream(emu, c), endpoints: { authority: emu.authorityHost, graph: `https://127.0.0.1:${relay.port}/v1.0` }, timeout: '20s', ...extra });
  const logs: Record<string, unknown>[] = [];
  const log = createLogger('debug', new Writable({ write(chunk, _e, cb) { for (const l of String(chunk).split('\n')) if (l) logs.push(JSON.parse(l)); cb(); } }));
  const dataDir = mkdtempSync(join(tmpdir(), 'authrelay-graph-'));
  const providers = new TokenProviders({ dataDir, secretKey: undefined, log, recordStatus: false });
  const transport = new GraphTransport('m365', cfg, {
    log, http: new HttpClient({ ca: emu.caPem }), graphUrl: `https://127.0.0.1:${relay.port}/v1.0`,
    tokens: providers.get('m365', cfg, 'graph'), pacer: new MailboxPacer({ concurrency: cfg.mailboxConcurrency }),
  });
  const mine = () => emu.sent().filter((s) => s.tenantId === c.tenant.id);
  const acceptAll = () => {
    emu.clearFaults();
    emu.mailbox(c.scanner).maxMessageSize = 150 * 1024 * 1024;
  };
  return {
    c, transport, logs,
    upstream: {
      acceptAll,
      // No refuseRecipient: sendMail takes any well-formed address and Microsoft reports an unknown
      // one later in a non-delivery report, so Graph (and the emulator) cannot refuse one recipient
      // of a message (perRecipientReplies: false below).
      refuseMessage: (how) => {
        if (how === 'permanent') emu.mailbox(c.scanner).maxMessageSize = 10; // 400 ErrorMessageSizeExceeded
        else emu.fault({ target: 'graph', mailbox: c.scanner, fault: { status: 503 } });
      },
      down: () => relay.down(),
      up: () => relay.up(),
      slow: (ms) => emu.fault({ target: 'graph', mailbox: c.scanner, fault: { delayMs: ms } }),
      // What recipients get: Exchange takes the Bcc field out before delivery.
      received: () => mine().map((s) => ({ sender: s.mailbox ?? '', recipients: s.recipients, body: withoutBcc(s.mime) })),
    },
    close: async () => {
      acceptAll();
      await transport.close();
      providers.close();
      await relay.down().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function withoutBcc(mime: Buffer): Buffer {
  const end = mime.indexOf('\r\n\r\n');
  const head = mime.subarray(0, end < 0 ? mime.length : end + 2).toString('latin1');
  const kept = head.replace(/^Bcc:.*\r\n(?:[ \t].*\r\n)*/gim, '');
  return Buffer.concat([Buffer.from(kept, 'latin1'), end < 0 ? Buffer.alloc(0) : mime.subarray(end + 2)]);
}

const ctx = () => ({ signal: new AbortController().signal });

transportContract('graph', () => graphFixture(), { perRecipientReplies: false, keepsSender: false, keepsBody: true });

async function withGraph(fn: (f: GraphFixture) => Promise<void>, extra?: Record<string, unknown>): Promise<void> {
  const f = await graphFixture(extra);
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

describe('graph transport: what Microsoft receives', () => {
  test('small message: sendMail with the stored MIME byte for byte, plus a Bcc field for envelope-only recipients', () => withGraph(async (f) => {
    const body = awkwardBody();
    const out = await f.transport.deliver(outbound({ recipients: ['alice@contoso.com', 'dave@fabrikam.com'], body }), ctx());
    assert.deepEqual(out.map((o) => o.outcome.action), ['delivered', 'delivered']);
    const [sent] = emu.sent().filter((s) => s.tenantId === f.c.tenant.id);
    assert.equal(sent?.via, 'graph-mime');
    assert.equal(sent.mailbox, f.c.scanner);
    const end = body.indexOf('\r\n\r\n') + 2;
    const expected = Buffer.concat([body.subarray(0, end), Buffer.from('Bcc: dave@fabrikam.com\r\n'), body.subarray(end)]);
    assert.ok(sent.mime.equals(expected), 'only the Bcc field was added');
    assert.deepEqual(sent.recipients, ['alice@contoso.com', 'dave@fabrikam.com']);
  }));

  test('Bcc-only envelope: header recipients outside the envelope are not delivered to', () => withGraph(async (f) => {
    const body = Buffer.from('From: scanner@contoso.com\r\nTo: Everyone <all@contoso.com>\r\nSubject: x\r\n\r\nbody\r\n');
    const out = await f.transport.deliver(outbound({ recipients: ['hidden@fabrikam.com'], body }), ctx());
    assert.equal(out[0]!.outcome.action, 'delivered');
    const [sent] = emu.sent().filter((s) => s.tenantId === f.c.tenant.id);
    assert.deepEqual(sent!.recipients, ['hidden@fabrikam.com']);
    assert.ok(sent!.mime.includes('To: undisclosed-recipients:;\r\n'));
    assert.ok(f.logs.some((l) => l.event === 'graph-header-changes'));
  }));

  test('a 20 MB scan with a 3.5 MB inline image: draft, upload sessions without Authorization, Content-ID kept', () => withGraph(async (f) => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(20 * 1024 * 1024), Buffer.from('\n%%EOF\n')]);
    const image = randomBytes(3_500_000);
    const small = randomBytes(50_000);
    const b64 = (d: Buffer) => (d.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
    const body = Buffer.from('From: scanner@contoso.com\r\nTo: alice@contoso.com\r\nSubject: scan\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="o"\r\n\r\n' +
      '--o\r\nContent-Type: multipart/related; boundary="r"\r\n\r\n--r\r\nContent-Type: text/html\r\n\r\n<img src="cid:logo@mfp">\r\n' +
      `--r\r\nContent-Type: image/png\r\nContent-ID: <logo@mfp>\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(image)}\r\n--r--\r\n` +
      `--o\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="scan.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(pdf)}\r\n` +
      `--o\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="log.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(small)}\r\n--o--\r\n`);
    const out = await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'], body, chunk: 65_536 }), ctx());
    assert.equal(out[0]!.outcome.action, 'delivered', JSON.stringify(out[0]!.outcome));
    const [sent] = emu.sent().filter((s) => s.tenantId === f.c.tenant.id);
    assert.equal(sent!.via, 'graph-draft');
    const byName = new Map(sent!.attachments.map((a) => [a.name, a]));
    assert.ok(byName.get('scan.pdf')?.content.equals(pdf), 'the scan arrived whole');
    assert.equal(byName.get('scan.pdf')?.via, 'upload-session');
    const img = sent!.attachments.find((a) => a.contentId === 'logo@mfp');
    assert.ok(img?.content.equals(image));
    assert.equal(img?.isInline, true);
    assert.ok(sent!.mime.includes('log.bin'), 'small attachments stay in the draft MIME');
    const uploads = emu.requests().filter((r) => r.service === 'upload' && r.method === 'PUT');
    assert.ok(uploads.length >= 8, `${uploads.length} chunks`);
    assert.ok(uploads.every((r) => !r.authorization), 'no Authorization header on upload URLs');
    assert.ok(uploads.every((r) => r.bytes <= 4 * 1024 * 1024));
  }));
});

describe('graph transport: limits and failures', () => {
  test('12 messages at once for one mailbox: never more than 4 requests in flight, all delivered', () => withGraph(async (f) => {
    emu.fault({ target: 'graph', mailbox: f.c.scanner, fault: { delayMs: 150 } });
    const outs = await Promise.all(Array.from({ length: 12 }, (_, i) => f.transport.deliver(outbound({ recipients: [`u${i}@contoso.com`] }), ctx())));
    assert.ok(outs.every((o) => o[0]!.outcome.action === 'delivered'), JSON.stringify(outs.map((o) => o[0]!.outcome)));
    const peak = emu.peakConcurrency(f.c.scanner);
    assert.ok(peak <= 4 && peak >= 2, `peak ${peak}`);
  }));

  test('429 with a short Retry-After is waited out within the attempt; a long one becomes retryAfterMs', () => withGraph(async (f) => {
    emu.fault({ target: 'graph', mailbox: f.c.scanner, fault: { throttle: true, retryAfterSeconds: 1 }, count: 1 });
    const started = Date.now();
    const ok = await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'] }), ctx());
    assert.equal(ok[0]!.outcome.action, 'delivered');
    assert.ok(Date.now() - started >= 950, 'waited for Retry-After');
    emu.fault({ target: 'graph', mailbox: f.c.scanner, fault: { throttle: true, retryAfterSeconds: 120 }, count: 1 });
    const later = (await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'] }), ctx()))[0]!.outcome;
    assert.equal(later.action, 'retry');
    assert.equal(later.scope, 'message');
    assert.equal(later.retryAfterMs, 120_000);
    assert.ok(later.hint);
  }));

  test('503: retry, the route waits (scope destination)', () => withGraph(async (f) => {
    emu.fault({ target: 'graph', mailbox: f.c.scanner, fault: { status: 503, retryAfterSeconds: 30 }, count: 1 });
    const o = (await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'] }), ctx()))[0]!.outcome;
    assert.equal(o.action, 'retry');
    assert.equal(o.scope, 'destination');
    assert.equal(o.retryAfterMs, 30_000);
  }));

  test('accepted, then 504: retried as a possible duplicate (the route waits), with a warning in the log', () => withGraph(async (f) => {
    emu.fault({ target: 'graph', mailbox: f.c.scanner, fault: { acceptThenStatus: 504 }, count: 1 });
    const o = (await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'] }), ctx()))[0]!.outcome;
    assert.equal(o.action, 'retry');
    assert.equal(o.scope, 'destination', 'no answer after a send: the route waits instead of sending again at once');
    assert.equal(o.possibleDuplicate, true);
    assert.equal(emu.sent().filter((s) => s.tenantId === f.c.tenant.id).length, 1, 'Microsoft did send it');
    assert.ok(f.logs.some((l) => l.event === 'possible-duplicate' && l.level === 'warn'));
  }));

  test('missing Mail.Send: the message fails at once with the catalogue fix; no secret or token in the logs', () => withGraph(async (f) => {
    emu.app(f.c.app.clientId).graphRoles = [];
    const o = (await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'] }), ctx()))[0]!.outcome;
    assert.equal(o.action, 'fail');
    assert.equal(o.scope, 'message');
    assert.equal(o.ref, 'graph.ErrorAccessDenied');
    assert.match(o.fix ?? '', /Mail\.Send/);
    assert.match(o.response ?? '', /403 ErrorAccessDenied/);
    const text = JSON.stringify(f.logs);
    assert.ok(!text.includes(f.c.secret) && !/Bearer /.test(text));
  }));

  test('an upload that fails half way: the draft is deleted and the stored message released', () => withGraph(async (f) => {
    const body = Buffer.concat([Buffer.from('From: scanner@contoso.com\r\nTo: alice@contoso.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=scan.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n'),
      Buffer.from(randomBytes(4_000_000).toString('base64')), Buffer.from('\r\n--b--\r\n')]);
    const opened: Readable[] = [];
    const openBody = () => {
      const stream = Readable.from((function* () {
        for (let i = 0; i < body.length; i += 64 * 1024) yield body.subarray(i, i + 64 * 1024);
      })());
      opened.push(stream);
      return stream;
    };
    emu.fault({ target: 'upload', fault: { status: 500 }, count: 1 });
    const o = (await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'], body, openBody }), ctx()))[0]!.outcome;
    assert.notEqual(o.action, 'delivered');
    assert.match(o.response ?? '', /^500/);
    const graph = emu.requests().filter((r) => r.service === 'graph' && r.mailbox?.toLowerCase() === f.c.scanner.toLowerCase());
    assert.ok(graph.some((r) => r.method === 'POST' && /\/messages\/[^/]+\/permanentDelete$/.test(r.path) && r.status === 204), 'the draft was deleted for good');
    assert.equal(emu.deletedItems(f.c.scanner).length, 0, 'not into Deleted Items');
    assert.equal(emu.sent().filter((s) => s.tenantId === f.c.tenant.id).length, 0);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(opened.length >= 3, `the stored message was opened for each step (${opened.length})`);
    opened.forEach((stream, i) => assert.ok(stream.destroyed, `stored message opened for step ${i + 1} was left open`));
  }));

  test('a header section too large to read: it fails as too-big, not as a spool problem; nothing is sent', () => withGraph(async (f) => {
    const line = `X-Pad: ${'p'.repeat(990)}\r\n`;
    const body = Buffer.from(`From: scanner@contoso.com\r\nTo: alice@contoso.com\r\n${line.repeat(2_200)}\r\nbody\r\n`);
    const o = (await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'], body, chunk: 64 * 1024 }), ctx()))[0]!.outcome;
    assert.equal(o.action, 'fail');
    assert.equal(o.category, 'too-big');
    assert.match(o.hint ?? '', /header section/);
    assert.equal(emu.requests().filter((r) => r.service === 'graph' && r.mailbox?.toLowerCase() === f.c.scanner.toLowerCase()).length, 0);
  }));

  test('large message without Mail.ReadWrite: it fails at once and the outcome says which permission is missing', () => withGraph(async (f) => {
    emu.app(f.c.app.clientId).graphRoles = ['Mail.Send'];
    const body = Buffer.concat([Buffer.from('From: scanner@contoso.com\r\nTo: alice@contoso.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n'),
      Buffer.from(randomBytes(4_000_000).toString('base64')), Buffer.from('\r\n--b--\r\n')]);
    const o = (await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'], body }), ctx()))[0]!.outcome;
    assert.equal(o.action, 'fail');
    assert.equal(o.scope, 'message');
    assert.equal(o.ref, 'graph.ErrorAccessDenied.Mail.ReadWrite');
    assert.match(o.fix ?? '', new RegExp(`App registrations → ${f.c.app.clientId} → API permissions .*Mail\\.ReadWrite`), 'the fix names the missing permission and this app');
    assert.match(o.response ?? '', /403 ErrorAccessDenied/);
    // Small messages need only Mail.Send: they still go.
    const small = (await f.transport.deliver(outbound({ recipients: ['alice@contoso.com'] }), ctx()))[0]!.outcome;
    assert.equal(small.action, 'delivered');
  }));
});
