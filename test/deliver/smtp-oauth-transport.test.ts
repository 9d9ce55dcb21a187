/**
 * The smtp-oauth transport against the Microsoft 365 emulator (Entra token
 * endpoint and smtp.office365.com lookalike): the shared transport contract,
 * then what only Exchange Online SMTP AUTH has: XOAUTH2 with an app token,
 * the catalogue's explanations of 535 5.7.3 / 535 5.7.139 / SendAsDenied,
 * pacing per mailbox, one token for many messages, and traces without secrets.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smtpOauthUpstreamSchema, type SmtpOauthUpstreamConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/core/log.js';
import { MailboxPacer } from '../../src/deliver/pacing.js';
import { SmtpOauthTransport } from '../../src/deliver/smtp-oauth/smtp-oauth.js';
import { resolveEndpoints } from '../../src/identity/entra/clouds.js';
import { TokenProviders } from '../../src/identity/entra/providers.js';
import type { TokenProvider } from '../../src/identity/entra/token-provider.js';
import type { Emulator, EmulatorApp } from '../emulator/api.js';
import { startEmulator } from '../emulator/index.js';
import { emulatorSmtpHooks } from '../helpers/emulator-smtp-hooks.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { outbound, simpleBody, transportContract, type TransportFixture } from '../contract/transport-contract.js';

const log = createLogger('silent');
let emu: Emulator;
let dir: string;
let app: EmulatorApp;
let secret: string;
let providers: TokenProviders;

const MAILBOX = 'scanner@contoso.com';

before(async () => {
  emu = await startEmulator();
  dir = mkdtempSync(join(tmpdir(), 'authrelay-smtp-oauth-'));
  const tenant = emu.addTenant({ domains: ['contoso.onmicrosoft.com', 'contoso.com'] });
  secret = `s3cr3t~${Math.random().toString(36).slice(2)}`;
  app = emu.addApp(tenant.id, { secrets: [{ value: secret }], exchangeRoles: ['SMTP.SendAsApp'], graphRoles: [] });
  for (const local of ['scanner', 'boss', 'alice', 'bob', 'Bob.Smith', 'nobody', 'busy', 'gone', 'full', ...Array.from({ length: 8 }, (_, i) => `user${i}`)]) {
    emu.addMailbox(tenant.id, { address: `${local}@contoso.com` });
  }
});

after(async () => {
  providers?.close();
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(extra: Record<string, unknown> = {}, smtpPort = emu.smtpPort): SmtpOauthUpstreamConfig {
  return smtpOauthUpstreamSchema.parse({
    type: 'smtp-oauth', tenant: 'contoso.onmicrosoft.com', clientId: app.clientId, clientSecret: secret, ca: emu.caFile,
    endpoints: { authority: emu.authorityHost, smtp: `${emu.smtpHost}:${smtpPort}` }, mailbox: MAILBOX,
    connectTimeout: '5s', timeout: '30s', ...extra,
  });
}

/** A transport built the way deliver/factory.ts builds it, with its own token cache unless one is given. */
function transport(cfg: SmtpOauthUpstreamConfig, opts: { pacer?: MailboxPacer; tokens?: TokenProviders } = {}) {
  const tokens = opts.tokens ?? new TokenProviders({ dataDir: dir, secretKey: 'k'.repeat(32), log, recordStatus: false });
  providers = tokens;
  const endpoints = resolveEndpoints(cfg);
  const provider = tokens.get('m365', cfg, 'smtp');
  const pacer = opts.pacer ?? new MailboxPacer({ concurrency: cfg.mailboxConcurrency, messagesPerMinute: cfg.messagesPerMinute, recipientsPerDay: cfg.recipientsPerDay });
  const t = new SmtpOauthTransport('m365', cfg, { log, smtpHost: endpoints.smtpHost, smtpPort: endpoints.smtpPort ?? cfg.port, tokens: provider, pacer });
  return { t, provider, tokens };
}

const ctx = () => ({ signal: new AbortController().signal });

/** The transport behind a TCP proxy that can go down and up; the emulator's faults steer the answers. */
async function fixture(): Promise<TransportFixture> {
  // A fresh minute for Exchange's per-mailbox counters (30 messages a minute), no faults, no records.
  emu.reset();
  const since = emu.sent().length;
  const proxy: TcpProxy = await startTcpProxy(emu.smtpPort);
  const { t, tokens } = transport(config({ concurrency: 2 }, proxy.port));
  return {
    transport: t,
    upstream: emulatorSmtpHooks(emu, proxy, {
      via: 'smtp', since,
      rcptReply: (address, how) => (how === 'permanent' ? `550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient ${address} not found by SMTP address lookup` : '450 4.2.1 Mailbox busy, try again later'),
    }),
    close: async () => {
      await t.close();
      tokens.close();
      await proxy.close();
      emu.clearFaults();
    },
  };
}

transportContract('smtp-oauth (Microsoft 365 emulator)', fixture);

describe('smtp-oauth: Exchange Online SMTP AUTH with OAuth 2.0', () => {
  beforeEach(() => emu.reset());

  test('an app token (client secret) is accepted: XOAUTH2 over TLS, the exact bytes and envelope recorded, no secret in the trace', async () => {
    const { t, provider } = transport(config());
    const since = emu.sent().length;
    const steps: { step: string; detail?: Record<string, unknown> }[] = [];
    try {
      const body = simpleBody(' exact');
      const out = await t.deliver(outbound({ sender: MAILBOX, recipients: ['alice@contoso.com', 'dave@fabrikam.com'], body }), {
        signal: new AbortController().signal, trace: (step, detail) => steps.push({ step, ...(detail ? { detail } : {}) }),
      });
      assert.deepEqual(out.map((o) => o.outcome.action), ['delivered', 'delivered'], JSON.stringify(out));
      const got = emu.sent().slice(since);
      assert.equal(got.length, 1);
      assert.equal(got[0]!.via, 'smtp');
      assert.equal(got[0]!.mailbox?.toLowerCase(), MAILBOX);
      assert.equal(got[0]!.principal, app.clientId, 'signed in as the app');
      assert.deepEqual(got[0]!.envelope, { from: MAILBOX, to: ['alice@contoso.com', 'dave@fabrikam.com'] });
      assert.ok(got[0]!.mime.equals(body), 'Exchange received the stored bytes exactly');
      const names = steps.map((s) => s.step);
      for (const s of ['mailbox', 'token', 'connect', 'tls', 'auth', 'accepted']) assert.ok(names.includes(s), `trace has ${s}: ${names.join(',')}`);
      const tls = steps.find((s) => s.step === 'tls')!.detail!;
      assert.match(String(tls.version), /^TLSv1\.[23]$/);
      assert.equal(steps.find((s) => s.step === 'auth')!.detail!.result, 'accepted');
      const lines = steps.filter((s) => s.step.startsWith('smtp-')).map((s) => String(s.detail!.line));
      assert.ok(lines.some((l) => /^MAIL FROM:<scanner@contoso\.com>/i.test(l)), 'MAIL FROM is in the transcript');
      assert.ok(lines.some((l) => /^AUTH XOAUTH2 \[hidden\]$/.test(l)), 'the AUTH line is masked');
      const { token } = await provider.getToken();
      const all = JSON.stringify(steps);
      assert.ok(!all.includes(token), 'the access token never reaches a trace');
      assert.ok(!all.includes(secret), 'the client secret never reaches a trace');
      assert.ok(!all.includes(Buffer.from(`auth=Bearer ${token}`).toString('base64').slice(8, 40)), 'nor the XOAUTH2 string');
    } finally {
      await t.close();
    }
  });

  test('a token provider failing with something other than a TokenError: an outcome for every recipient, never a throw', async () => {
    const broken: TokenProvider = { description: 'a provider with a bug', requests: 0, getToken: () => Promise.reject(new TypeError('cannot read properties of undefined')) };
    const t = new SmtpOauthTransport('m365', config(), { log, smtpHost: emu.smtpHost, smtpPort: emu.smtpPort, tokens: broken, pacer: new MailboxPacer({ concurrency: 1 }) });
    const since = emu.sent().length;
    try {
      const out = await t.deliver(outbound({ sender: MAILBOX, recipients: ['alice@contoso.com', 'bob@contoso.com'] }), ctx());
      assert.deepEqual(out.map((o) => [o.recipient, o.outcome.action, o.outcome.category]), [['alice@contoso.com', 'retry', 'auth'], ['bob@contoso.com', 'retry', 'auth']]);
      assert.match(out[0]!.outcome.response ?? '', /cannot read properties/);
      assert.equal(emu.sent().length, since);
    } finally {
      await t.close();
    }
  });

  test('one token and one signed-in session serve many messages to a mailbox', async () => {
    const { t, provider } = transport(config({ mailboxConcurrency: 1 }));
    const before = emu.requests().filter((r) => r.service === 'smtp').length;
    try {
      for (let i = 0; i < 6; i++) {
        const out = await t.deliver(outbound({ sender: MAILBOX, recipients: ['alice@contoso.com'], body: simpleBody(` ${i}`) }), ctx());
        assert.equal(out[0]!.outcome.action, 'delivered');
      }
      assert.equal(provider.requests, 1, 'the token was requested from Entra once');
      const smtp = emu.requests().filter((r) => r.service === 'smtp').slice(before);
      assert.equal(smtp.filter((r) => /AUTH/i.test(r.method)).length, 1, `one AUTH for six messages: ${JSON.stringify(smtp.map((r) => r.method))}`);
    } finally {
      await t.close();
    }
  });

  test('the app lacks SMTP.SendAsApp: 535 5.7.3 fails the message at once with the catalogue fix; nothing sent', async () => {
    const roles = app.exchangeRoles;
    emu.app(app.clientId).exchangeRoles = [];
    const { t } = transport(config());
    const since = emu.sent().length;
    try {
      const out = await t.deliver(outbound({ sender: MAILBOX, recipients: ['alice@contoso.com', 'bob@contoso.com'] }), ctx());
      for (const { outcome } of out) {
        assert.equal(outcome.action, 'fail');
        assert.equal(outcome.scope, 'message');
        assert.equal(outcome.category, 'auth');
        assert.equal(outcome.code, 535);
        assert.match(outcome.response ?? '', /^535 5\.7\.3 /);
        assert.equal(outcome.ref, 'smtp.5.7.3');
        assert.match(outcome.fix ?? '', /SMTP\.SendAsApp/);
        assert.match(outcome.fix ?? '', new RegExp(app.clientId), 'the fix names this app');
      }
      assert.equal(emu.sent().length, since);
    } finally {
      emu.app(app.clientId).exchangeRoles = roles;
      await t.close();
    }
  });

  test('SMTP AUTH disabled for the mailbox: 535 5.7.139 fails the message at once, explained with Set-CASMailbox', async () => {
    emu.mailbox(MAILBOX).smtpAuthDisabled = true;
    const { t } = transport(config());
    const since = emu.sent().length;
    try {
      const out = await t.deliver(outbound({ sender: MAILBOX, recipients: ['alice@contoso.com'] }), ctx());
      const o = out[0]!.outcome;
      assert.equal(o.action, 'fail');
      assert.equal(o.scope, 'message');
      assert.equal(o.code, 535);
      assert.equal(emu.sent().length, since, 'nothing was sent');
      assert.match(o.response ?? '', /^535 5\.7\.139 .*SmtpClientAuthentication is disabled for the Mailbox/);
      assert.equal(o.ref, 'smtp.5.7.139.mailbox-disabled');
      assert.match(o.fix ?? '', /Set-CASMailbox -Identity scanner@contoso\.com -SmtpClientAuthenticationDisabled \$false/);
    } finally {
      emu.mailbox(MAILBOX).smtpAuthDisabled = false;
      await t.close();
    }
  });

  test('SendAs denied after DATA concerns that message only: the next message goes out on the same route', async () => {
    const { t } = transport(config());
    const since = emu.sent().length;
    try {
      const foreign = Buffer.from('From: Boss <boss@contoso.com>\r\nTo: alice@contoso.com\r\nSubject: as boss\r\n\r\nhello\r\n');
      const denied = await t.deliver(outbound({ sender: MAILBOX, recipients: ['alice@contoso.com', 'bob@contoso.com'], body: foreign }), ctx());
      for (const { outcome } of denied) {
        assert.equal(outcome.scope, 'message');
        assert.equal(outcome.category, 'sender');
        assert.match(outcome.response ?? '', /^554 5\.2\.(252|0) .*SendAsDenied/);
        assert.match(outcome.ref ?? '', /SendAsDenied$/);
        assert.match(outcome.fix ?? '', /SendAs|Send As|sendAs/);
        assert.equal(outcome.action, 'fail');
      }
      const ok = await t.deliver(outbound({ sender: MAILBOX, recipients: ['alice@contoso.com'] }), ctx());
      assert.equal(ok[0]!.outcome.action, 'delivered');
      assert.equal(emu.sent().length - since, 1, 'only the allowed message was sent');
    } finally {
      await t.close();
    }
  });

  test('pacing: 40 messages to one mailbox at 30 a minute are spread out, none refused by Exchange', async () => {
    let now = Date.parse('2030-01-01T08:00:00Z');
    const pacer = new MailboxPacer({ concurrency: 3, messagesPerMinute: 30, recipientsPerDay: 10_000, maxWaitMs: 1_000 }, () => now);
    const { t, provider } = transport(config({ mailboxConcurrency: 3 }), { pacer });
    let delivered = 0;
    try {
      let pending = Array.from({ length: 40 }, (_, i) => outbound({ sender: MAILBOX, recipients: ['alice@contoso.com'], body: simpleBody(` paced ${i}`) }));
      const perMinute: number[] = [];
      emu.reset();
      while (pending.length) {
        const before = emu.sent().length;
        const outs = await Promise.all(pending.map((m) => t.deliver(m, ctx())));
        const waits: number[] = [];
        const next: typeof pending = [];
        outs.forEach((out, i) => {
          const o = out[0]!.outcome;
          if (o.action === 'delivered') return;
          assert.equal(o.category, 'paced', `only the pacer holds messages back: ${JSON.stringify(o)}`);
          assert.equal(o.action, 'retry');
          assert.ok(o.retryAfterMs! > 0 && o.retryAfterMs! <= 60_000);
          waits.push(o.retryAfterMs!);
          next.push(pending[i]!);
        });
        perMinute.push(emu.sent().length - before);
        pending = next;
        if (pending.length) {
          // The minute the pacer waits for passes, for the pacer's clock and for Exchange's per-minute counter.
          now += Math.max(...waits);
          delivered += emu.sent().length;
          emu.reset();
        }
      }
      delivered += emu.sent().length;
      assert.deepEqual(perMinute, [30, 10], 'at most 30 a minute reached Exchange');
      assert.equal(delivered, 40, 'every message was delivered');
      assert.equal(provider.requests, 1);
    } finally {
      await t.close();
    }
  });
});
