/**
 * Device → authrelay → Microsoft 365 emulator: every transport with every
 * credential type, throttling (never more than 4 requests in flight per
 * mailbox, every 429 honoured), an outage with full delivery afterwards,
 * permission and licence errors that end in a failed message with the
 * catalogue's explanation, and one token request for a stream of messages.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/api.js';
import { plainText } from '../fixtures/corpus.js';
import { contoso, deviceSend, directSendUpstream, graphUpstream, smtpOauthUpstream, type Contoso } from '../helpers/m365.js';
import { noticeAbout, startRelay } from '../helpers/delivery.js';
import { storedBytes } from '../helpers/m365.js';

let emu: Emulator;
let certDir: string;
before(async () => {
  emu = await startEmulator();
  certDir = mkdtempSync(join(tmpdir(), 'authrelay-appcert-'));
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=authrelay-app',
    '-keyout', join(certDir, 'app.key'), '-out', join(certDir, 'app.crt')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
after(async () => {
  await emu.close();
  rmSync(certDir, { recursive: true, force: true });
});

function withCertificate(c: Contoso, up: Record<string, unknown>): Record<string, unknown> {
  c.app.certificates.push(readFileSync(join(certDir, 'app.crt'), 'utf8'));
  const { clientSecret: _unused, ...rest } = up;
  return { ...rest, certificate: { key: join(certDir, 'app.key'), cert: join(certDir, 'app.crt') } };
}

const cases: { name: string; make: (c: Contoso) => Record<string, unknown>; via: string }[] = [
  { name: 'graph with a client secret', make: (c) => graphUpstream(emu, c), via: 'graph-mime' },
  { name: 'graph with a certificate', make: (c) => withCertificate(c, graphUpstream(emu, c)), via: 'graph-mime' },
  { name: 'smtp-oauth with a client secret', make: (c) => smtpOauthUpstream(emu, c), via: 'smtp' },
  { name: 'smtp-oauth with a certificate', make: (c) => withCertificate(c, smtpOauthUpstream(emu, c)), via: 'smtp' },
  { name: 'direct-send (no credential)', make: (c) => directSendUpstream(emu, c), via: 'direct-send' },
];

describe('each transport and credential, device to Microsoft', () => {
  for (const k of cases) {
    test(k.name, async () => {
      const c = contoso(emu);
      const relay = await startRelay({ upstreams: { m365: k.make(c) as never }, routes: [{ use: 'm365' }] });
      try {
        const before = emu.sent().length;
        const m = plainText(c.scanner, [c.alice]);
        const id = await deviceSend(relay, m.from, m.to, m.raw);
        const done = await relay.waitFor(id, ['delivered', 'failed'], 30_000);
        assert.equal(done.state, 'delivered', JSON.stringify(done.lastError));
        const sent = emu.sent().slice(before);
        assert.equal(sent.length, 1);
        assert.equal(sent[0]!.via, k.via);
        assert.deepEqual(sent[0]!.recipients.map((r) => r.toLowerCase()), [c.alice.toLowerCase()]);
        if (k.via !== 'graph-mime') assert.ok(sent[0]!.mime.equals(await storedBytes(relay, id)));
      } finally {
        await relay.close();
      }
    });
  }
});

test('throttling: 24 messages at once never put more than 4 requests in flight for the mailbox, and every 429 is honoured', async () => {
  const c = contoso(emu);
  const relay = await startRelay({ upstreams: { m365: graphUpstream(emu, c, { concurrency: 16 }) }, routes: [{ use: 'm365' }] });
  try {
    emu.fault({ target: 'graph', mailbox: c.scanner, fault: { throttle: true, retryAfterSeconds: 2 }, count: 3 });
    const ids = await Promise.all(Array.from({ length: 24 }, (_, i) => {
      const m = plainText(c.scanner, [c.alice]);
      return deviceSend(relay, m.from, [i % 2 ? c.alice : c.bob], m.raw);
    }));
    for (const id of ids) assert.equal((await relay.waitFor(id, ['delivered', 'failed'], 60_000)).state, 'delivered');
    assert.ok(emu.peakConcurrency(c.scanner) <= 4, `peak ${emu.peakConcurrency(c.scanner)} requests in flight for one mailbox`);
    const graph = emu.requests().filter((r) => r.service === 'graph' && r.mailbox?.toLowerCase() === c.scanner.toLowerCase());
    const throttled = graph.filter((r) => r.status === 429);
    assert.equal(throttled.length, 3, 'the three injected 429s were seen');
    for (const t of throttled) {
      // Retry-After is per app and mailbox: after a 429, no new request for the mailbox until it has passed.
      // (A request that reached the emulator within 100 ms of the 429 was already on its way.)
      const early = graph.filter((r) => (r.startedAt ?? 0) > t.at + 100 && (r.startedAt ?? 0) < t.at + 1_950);
      assert.equal(early.length, 0, `requests started within 2 s of a 429: ${early.map((r) => `+${r.startedAt! - t.at} ms`).join(', ')}`);
    }
    assert.equal(graph.filter((r) => r.status === 202).length, 24, 'each message sent once');
  } finally {
    await relay.close();
  }
});

test('two mailboxes behind one upstream: messages waiting for a busy mailbox lend their slots, so both keep 4 requests in flight', async () => {
  const c = contoso(emu);
  // No fixed mailbox: each message goes as its From address. Eight slots, and eight messages for the first mailbox come first.
  const { mailbox: _fixed, ...upstream } = graphUpstream(emu, c, { concurrency: 8 });
  const relay = await startRelay({ upstreams: { m365: upstream as never }, routes: [{ use: 'm365' }] });
  try {
    emu.fault({ target: 'graph', fault: { delayMs: 1500 }, method: 'POST', path: /\/sendMail$/, count: 12 });
    const ids: string[] = [];
    for (const from of [...Array<string>(8).fill(c.scanner), ...Array<string>(4).fill(c.alice)]) {
      const m = plainText(from, [c.bob]);
      ids.push(await deviceSend(relay, m.from, m.to, m.raw));
    }
    for (const id of ids) assert.equal((await relay.waitFor(id, ['delivered', 'failed'], 60_000)).state, 'delivered');
    const sends = emu.requests().filter((r) => r.service === 'graph' && r.method === 'POST' && r.path.endsWith('/sendMail') && r.status === 202);
    const of = (mbx: string) => sends.filter((r) => r.mailbox?.toLowerCase() === mbx.toLowerCase());
    assert.equal(of(c.scanner).length, 8);
    assert.equal(of(c.alice).length, 4);
    // The four messages for scanner beyond its limit wait for it without holding the upstream's slots:
    // alice's messages start while scanner's first four are still in flight, not after them.
    const firstAnswer = Math.min(...of(c.scanner).map((r) => r.at));
    const aliceStarts = of(c.alice).map((r) => r.startedAt ?? Infinity).sort((a, b) => a - b);
    assert.ok(aliceStarts[3]! < firstAnswer, `alice's requests started ${aliceStarts.map((t) => `${t - firstAnswer} ms`).join(', ')} from scanner's first answer`);
    assert.ok(emu.peakConcurrency(c.scanner) <= 4 && emu.peakConcurrency(c.alice) <= 4, 'never more than 4 in flight per mailbox');
  } finally {
    emu.clearFaults();
    await relay.close();
  }
});

/**
 * Time in this test runs 60 times faster than in a relay with default settings:
 * the queue's backoffs are the defaults divided by 60 (destination pause 30 s → 0.5 s,
 * doubling up to 10 min → 10 s; message backoff 1 min → 1 s, up to 1 h → 60 s).
 * A 10 s outage here is a 10-minute outage there.
 */
const SCALED_QUEUE = { pollInterval: '50ms', minBackoff: '1s', maxBackoff: '60s', destinationMinBackoff: '500ms', destinationMaxBackoff: '10s' };

test('a 10-minute Graph outage (503s, then connection resets; time scaled 1:60): no retry storm, everything delivered afterwards', async () => {
  const c = contoso(emu);
  const relay = await startRelay({ upstreams: { m365: graphUpstream(emu, c) }, routes: [{ use: 'm365' }], queue: SCALED_QUEUE });
  try {
    const mine = () => emu.requests().filter((r) => r.service === 'graph' && r.mailbox?.toLowerCase() === c.scanner.toLowerCase());
    emu.fault({ target: 'graph', fault: { status: 503 } });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const m = plainText(c.scanner, [c.alice]);
      ids.push(await deviceSend(relay, m.from, m.to, m.raw));
    }
    await new Promise((r) => setTimeout(r, 5_000));
    emu.clearFaults();
    emu.fault({ target: 'graph', fault: { reset: true } });
    await new Promise((r) => setTimeout(r, 5_000));
    const during = mine().length;
    emu.clearFaults();
    const restored = Date.now();
    for (const id of ids) assert.equal((await relay.waitFor(id, ['delivered', 'failed'], 30_000)).state, 'delivered');
    const recovery = Date.now() - restored;
    // The first wave (the upstream's concurrency, 8) finds the outage, then one probe per pause
    // (0.5, 1, 2, 4, 8 s): about 14 requests for 20 messages, where retrying each message on its
    // own backoff would have made well over 60.
    assert.ok(during <= 20, `${during} Graph requests during the outage for 20 messages`);
    assert.ok(recovery <= 12_000, `delivered ${recovery} ms after the outage ended (the longest pause is 10 s)`);
    assert.equal(mine().filter((r) => r.status === 202).length, 20, 'each message accepted once');
  } finally {
    await relay.close();
  }
});

describe('permission and licence errors end in a failed message with the explanation and the fix', () => {
  const cases: { name: string; setup: (c: Contoso) => void; make: (c: Contoso) => Record<string, unknown>; ref: RegExp; fix: RegExp }[] = [
    { name: 'Graph without Mail.Send', setup: (c) => (c.app.graphRoles = []), make: (c) => graphUpstream(emu, c), ref: /ErrorAccessDenied/, fix: /Mail\.Send/ },
    { name: 'Graph with an unlicensed mailbox', setup: (c) => (emu.mailbox(c.scanner).licensed = false), make: (c) => graphUpstream(emu, c), ref: /MailboxNotEnabledForRESTAPI/, fix: /licen[cs]e/i },
    { name: 'Graph: the device writes From another mailbox, without Send As', setup: () => undefined, make: (c) => graphUpstream(emu, c), ref: /^graph\.ErrorSendAsDenied$/, fix: /Add-RecipientPermission/ },
    { name: 'SMTP without SMTP.SendAsApp', setup: (c) => (c.app.exchangeRoles = []), make: (c) => smtpOauthUpstream(emu, c), ref: /5\.7\.3/, fix: /SMTP\.SendAsApp|New-ServicePrincipal/ },
    { name: 'SMTP AUTH disabled for the mailbox', setup: (c) => (emu.mailbox(c.scanner).smtpAuthDisabled = true), make: (c) => smtpOauthUpstream(emu, c), ref: /5\.7\.139/, fix: /Set-CASMailbox/ },
  ];
  for (const k of cases) {
    test(k.name, async () => {
      const c = contoso(emu);
      k.setup(c);
      const relay = await startRelay({ upstreams: { m365: k.make(c) as never }, routes: [{ use: 'm365' }], notices: { admin: 'it@contoso.com' } });
      try {
        // Without Send As, the route's mailbox (scanner) may not send a message From Alice.
        const from = k.name.includes('Send As') ? c.alice : c.scanner;
        const m = plainText(from, [c.alice]);
        const id = await deviceSend(relay, from, m.to, m.raw);
        const done = await relay.waitFor(id, ['failed', 'delivered'], 30_000);
        assert.equal(done.state, 'failed');
        const o = done.recipientRecords[0]!.last!;
        assert.match(o.ref ?? '', k.ref, JSON.stringify(o));
        assert.ok(o.hint && o.hint.length > 10, 'an explanation');
        assert.match(o.fix ?? '', k.fix);
        const notice = await noticeAbout(relay, id);
        const text = (await storedBytes(relay, notice.id)).toString('utf8');
        assert.ok(text.includes(`Reference: ${o.ref}`) && /What to do: /.test(text), 'the non-delivery notice carries the explanation and the fix');
      } finally {
        await relay.close();
      }
    });
  }
});

for (const kind of ['graph', 'smtp-oauth'] as const) {
  test(`one token request serves a stream of messages (${kind}: the token cache)`, async () => {
    const c = contoso(emu);
    const up = kind === 'graph' ? graphUpstream(emu, c) : smtpOauthUpstream(emu, c, { messagesPerMinute: 1000 });
    const relay = await startRelay({ upstreams: { m365: up }, routes: [{ use: 'm365' }] });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const m = plainText(c.scanner, [c.alice]);
        ids.push(await deviceSend(relay, m.from, m.to, m.raw));
      }
      for (const id of ids) assert.equal((await relay.waitFor(id, ['delivered', 'failed'], 60_000)).state, 'delivered');
      const tokenRequests = emu.requests().filter((r) => r.service === 'token' && r.clientId === c.app.clientId && r.status === 200).length;
      assert.equal(tokenRequests, 1, `one token for 30 messages, not ${tokenRequests}`);
    } finally {
      await relay.close();
    }
  });
}

test('through an outbound proxy: sign-in and Graph both go through CONNECT, the message is delivered', async () => {
  const { startConnectProxy } = await import('../identity/entra-fixtures.js');
  const proxy = await startConnectProxy();
  const c = contoso(emu);
  const relay = await startRelay({ upstreams: { m365: graphUpstream(emu, c, { proxy: proxy.url }) }, routes: [{ use: 'm365' }] });
  try {
    const m = plainText(c.scanner, [c.alice]);
    const id = await deviceSend(relay, m.from, m.to, m.raw);
    assert.equal((await relay.waitFor(id, ['delivered', 'failed'], 30_000)).state, 'delivered');
    const host = new URL(emu.authorityHost).host;
    assert.ok(proxy.targets.length >= 1 && proxy.targets.every((t) => t === host), `CONNECT targets: ${proxy.targets.join(', ')}`);
  } finally {
    await relay.close();
    await proxy.close();
  }
});

test('a token per token lifetime, not per message: 6-second tokens over 14 s of steady traffic', async () => {
  const c = contoso(emu);
  const relay = await startRelay({ upstreams: { m365: graphUpstream(emu, c) }, routes: [{ use: 'm365' }] });
  const lifetime = emu.tokenLifetimeSeconds;
  emu.tokenLifetimeSeconds = 6;
  try {
    const ids: string[] = [];
    const start = Date.now();
    while (Date.now() - start < 14_000) {
      const m = plainText(c.scanner, [c.alice]);
      ids.push(await deviceSend(relay, m.from, m.to, m.raw));
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const id of ids) assert.equal((await relay.waitFor(id, ['delivered', 'failed'], 30_000)).state, 'delivered');
    const tokens = emu.requests().filter((r) => r.service === 'token' && r.clientId === c.app.clientId && r.status === 200).length;
    // 14 s of traffic with 6 s tokens renewed shortly before they expire: 3 or 4 tokens for ~100 messages.
    assert.ok(tokens >= 2 && tokens <= 4, `${tokens} token requests for ${ids.length} messages`);
    assert.ok(ids.length >= 50, `${ids.length} messages sent`);
  } finally {
    emu.tokenLifetimeSeconds = lifetime;
    await relay.close();
  }
});

test('smtp-oauth with a delegated sign-in (device code): signed in once, the relay delivers with the stored sign-in', async () => {
  const c = contoso(emu);
  c.app.publicClient = true;
  const { mkdtempSync } = await import('node:fs');
  const dataDir = mkdtempSync(join(tmpdir(), 'authrelay-delegated-'));
  const { TokenProviders } = await import('../../src/identity/entra/providers.js');
  const { createLogger } = await import('../../src/core/log.js');
  const { smtpOauthUpstreamSchema } = await import('../../src/config/schema.js');
  const up = { ...smtpOauthUpstream(emu, c, { delegated: { user: c.scanner } }) } as Record<string, unknown>;
  delete up.clientSecret;
  delete up.mailbox;
  // `authrelay oauth login m365` does this: the device code flow, approved by the user in a browser.
  const registry = new TokenProviders({ dataDir, secretKey: undefined, log: createLogger('silent'), signInRenewalMs: 0 });
  const provider = registry.get('m365', smtpOauthUpstreamSchema.parse(up), 'smtp') as import('../../src/identity/entra/delegated-token-provider.js').DelegatedTokenProvider;
  await provider.login((prompt) => setImmediate(() => emu.approveDeviceCode(prompt.userCode, c.scanner)));
  registry.close();
  const relay = await startRelay({ upstreams: { m365: up as never }, routes: [{ use: 'm365' }] }, { dataDir });
  try {
    const before = emu.sent().length;
    const m = plainText(c.scanner, [c.alice]);
    const id = await deviceSend(relay, m.from, m.to, m.raw);
    assert.equal((await relay.waitFor(id, ['delivered', 'failed'], 30_000)).state, 'delivered');
    const sent = emu.sent().slice(before);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.principal?.toLowerCase(), c.scanner.toLowerCase(), 'sent as the signed-in user');
    assert.ok(sent[0]!.mime.equals(await storedBytes(relay, id)));
  } finally {
    await relay.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
