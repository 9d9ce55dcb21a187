/**
 * `authrelay send-test --route NAME --to ADDR` with the real binary against
 * the Microsoft 365 emulator: the message goes straight through the route's
 * upstream, each step (token, request, response) is printed, and a refusal
 * is explained with the catalogue's meaning and what to do. An smtp
 * upstream (Postfix's smtp-sink) shows the whole conversation; one that does
 * not offer STARTTLS while the route requires it gets a "what to do" line.
 * No secret or token is ever printed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/api.js';
import { contoso, type Contoso } from '../helpers/m365.js';
import { cli, tempDir, writeConfig } from '../helpers/relay-process.js';
import { startSmtpSink } from '../helpers/tools.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator();
});
after(() => emu.close());

function config(dir: string, c: Contoso, type: 'graph' | 'smtp-oauth'): string {
  return writeConfig(dir, `dataDir: ./data
upstreams:
  m365:
    type: ${type}
    tenant: ${c.tenant.domains[0]}
    clientId: ${c.app.clientId}
    clientSecret: "\${M365_SECRET}"
    mailbox: ${c.scanner}
    ca: ${emu.caFile}
    endpoints: { authority: "${emu.authorityHost}", graph: "${emu.graphUrl}", smtp: "${emu.smtpHost}:${emu.smtpPort}" }
routes: [{ use: m365 }]
`);
}

for (const type of ['graph', 'smtp-oauth'] as const) {
  test(`send-test --route through ${type}: every step printed, Microsoft has the message`, async () => {
    const c = contoso(emu);
    const dir = tempDir();
    try {
      const before = emu.sent().length;
      const r = await cli(['send-test', '--route', 'm365', '--to', c.alice, '--config', config(dir, c, type)], { env: { ...process.env, M365_SECRET: c.secret } });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /route m365: .* upstream; test message from scanner@/);
      assert.match(r.stdout, /token .*source=Entra ID/);
      if (type === 'graph') {
        assert.match(r.stdout, /request .*method=POST url=https:\/\/127\.0\.0\.1:\d+\/v1\.0\/users\/scanner%40contoso\d+\.com\/sendMail/);
        assert.match(r.stdout, /response .*status=202/);
      } else {
        assert.match(r.stdout, /AUTH XOAUTH2/);
        assert.match(r.stdout, /235/);
      }
      assert.match(r.stdout, /the route works/);
      assert.ok(!r.stdout.includes(c.secret), 'the secret is never printed');
      assert.ok(!/eyJ[A-Za-z0-9_-]{20,}\./.test(r.stdout), 'no token is printed');
      const sent = emu.sent().slice(before);
      assert.equal(sent.length, 1);
      assert.match(sent[0]!.mime.toString(), /^X-Authrelay-Test: m365/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('send-test --route explains a refusal: what it means, what to do, the reference; exit 1', async () => {
  const c = contoso(emu, { graphRoles: [] });
  const dir = tempDir();
  try {
    const r = await cli(['send-test', '--route', 'm365', '--to', c.alice, '--config', config(dir, c, 'graph')], { env: { ...process.env, M365_SECRET: c.secret } });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /response .*status=403 code=ErrorAccessDenied/);
    assert.match(r.stdout, /refused: 403 ErrorAccessDenied/);
    assert.match(r.stdout, /what it means: .*Mail\.Send/);
    assert.match(r.stdout, /what to do: .*API permissions.*Mail\.Send.*Grant admin consent/);
    assert.match(r.stdout, /reference: graph\.ErrorAccessDenied/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('send-test --route with a wrong secret explains the sign-in failure', async () => {
  const c = contoso(emu);
  const dir = tempDir();
  try {
    const r = await cli(['send-test', '--route', 'm365', '--to', c.alice, '--config', config(dir, c, 'graph')], { env: { ...process.env, M365_SECRET: 'not-the-secret' } });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /AADSTS7000215/);
    assert.match(r.stdout, /what to do: .*Certificates & secrets/);
    assert.ok(!r.stdout.includes('not-the-secret'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('send-test --route names the configured upstreams when the route does not exist', async () => {
  const c = contoso(emu);
  const dir = tempDir();
  try {
    const r = await cli(['send-test', '--route', 'nope', '--to', c.alice, '--config', config(dir, c, 'graph')], { env: { ...process.env, M365_SECRET: c.secret } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no upstream named "nope"; configured: m365/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('send-test --route to an smtp upstream without STARTTLS while the route requires it: the conversation, what it means, what to do', async () => {
  const sink = await startSmtpSink();
  const dir = tempDir();
  try {
    const file = writeConfig(dir, `dataDir: ./data
hostname: relay.contoso.test
upstreams:
  relay: { type: smtp, host: 127.0.0.1, port: ${sink.port}, tls: starttls, auth: { user: relay@contoso.com, pass: "\${RELAY_PASS}" } }
routes: [{ use: relay }]
`);
    const r = await cli(['send-test', '--route', 'relay', '--to', 'alice@contoso.com', '--config', file], { env: { ...process.env, RELAY_PASS: 'sink-secret-pw' } });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /smtp-client line=EHLO relay\.contoso\.test/);
    assert.match(r.stdout, /smtp-client line=STARTTLS/);
    assert.match(r.stdout, /smtp-server line=500 5\.5\.1 Error: unknown command/);
    assert.match(r.stdout, /alice@contoso\.com: not sent \(would be retried\): 500 5\.5\.1 Error: unknown command/);
    assert.match(r.stdout, /what it means: The route requires STARTTLS \(tls: starttls\) and the upstream does not offer it/);
    assert.match(r.stdout, /what to do: If the upstream speaks TLS from the first byte \(usually port 465\), set upstreams\.relay\.tls: implicit/);
    assert.match(r.stdout, /reference: generic\.starttls-not-offered/);
    assert.ok(!/MAIL FROM/.test(r.stdout), 'nothing was sent in the clear');

    // The same upstream with tls: none takes the message: the conversation shows the sign-in (masked) and BODY=8BITMIME is not declared for 7-bit text.
    const plain = writeConfig(dir, `dataDir: ./data
hostname: relay.contoso.test
upstreams:
  relay: { type: smtp, host: 127.0.0.1, port: ${sink.port}, tls: none, auth: { user: relay@contoso.com, pass: "\${RELAY_PASS}" } }
routes: [{ use: relay }]
`, 'plain.yaml');
    const ok = await cli(['send-test', '--route', 'relay', '--to', 'alice@contoso.com', '--config', plain], { env: { ...process.env, RELAY_PASS: 'sink-secret-pw' } });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /smtp-client line=AUTH PLAIN/);
    assert.match(ok.stdout, /smtp-client line=MAIL FROM:<authrelay-test@relay\.contoso\.test>(\s|$)/m);
    assert.match(ok.stdout, /the route works/);
    assert.ok(!ok.stdout.includes('sink-secret-pw') && !ok.stdout.includes(Buffer.from('\0relay@contoso.com\0sink-secret-pw').toString('base64')), 'the password is never printed');
  } finally {
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
