import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig, ConfigError, configJsonSchema } from '../../src/config/load.js';

const env = { SECRET: 's3cret' };
const v = (raw: unknown) => validateConfig(raw, { env }, '/tmp');

function problems(raw: unknown): string[] {
  try {
    v(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

test('the embedded default is valid: two listeners, capture only, 5-day lifetime', () => {
  const c = v({});
  assert.deepEqual(c.listeners.map((l) => [l.port, l.tls, l.minTlsVersion]), [[2525, 'starttls', 'TLSv1.2'], [2465, 'implicit', 'TLSv1.2']]);
  assert.equal(c.queue.maxLifetime, 5 * 86_400_000);
  assert.ok(c.listeners.every((l) => l.socketTimeout >= 300_000));
  assert.equal(c.listeners[0]!.greetingDelay, 0);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.listeners[0]));
});

test('errors name the key and the fix', () => {
  assert.match(problems({ listners: [] })[0]!, /\(top level\): unknown key "listners"/);
  assert.match(problems({ listeners: [{ port: 25, tls: 'ssl' }] })[0]!, /^listeners\[0\]\.tls: .*"none", "starttls", "implicit"/);
  assert.match(problems({ queue: { maxLifetime: 'five days' } })[0]!, /^queue\.maxLifetime: "five days" is not a duration; write it like/);
  assert.match(problems({ routes: [{ use: 'nowhere' }], upstreams: { a: { type: 'capture' } } })[0]!, /^routes\[0\]\.use: no upstream named "nowhere"/);
  assert.match(problems({ devices: [{ name: 'x', networks: ['10.0.0.300/24'] }] })[0]!, /^devices\[0\]\.networks\[0\]: .*not an address or CIDR/);
  assert.match(problems({ devices: [{ name: 'x' }] })[0]!, /^devices\[0\]: a device needs a username/);
  assert.match(problems({ upstreams: { a: { type: 'smtp', host: 'h', auth: { user: 'u', pass: '${MISSING}' } } } })[0]!, /upstreams\.a\.auth\.pass: environment variable MISSING is not set/);
});

test('${ENV} references are expanded', () => {
  const c = v({ upstreams: { a: { type: 'smtp', host: 'h', auth: { user: 'u', pass: '${SECRET}' } } } });
  const up = c.upstreams.a;
  assert.ok(up && up.type === 'smtp');
  assert.equal(up.auth?.pass, 's3cret');
});

test('the JSON Schema describes the top-level keys', () => {
  const s = configJsonSchema() as { $schema?: string; properties: Record<string, unknown> };
  assert.ok(s.$schema);
  for (const k of ['listeners', 'devices', 'upstreams', 'routes', 'queue', 'notices', 'security']) assert.ok(k in s.properties, k);
});

test('alerts.secretExpires must name a configured upstream', () => {
  assert.match(problems({ alerts: { secretExpires: { m365: '2027-03-31' } } })[0]!, /^alerts\.secretExpires\.m365: no upstream named "m365"/);
  const c = v({ upstreams: { m365: { type: 'smtp', host: 'smtp.example.net' } }, alerts: { secretExpires: { m365: '2027-03-31' } } });
  assert.equal(c.alerts.secretExpires.m365, '2027-03-31');
});

test('exchange-mailbox: an app credential or a delegated sign-in, exactly one; the delegated default asks for IMAP, POP and a refresh token', () => {
  const base = { type: 'exchange-mailbox', tenant: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555' };
  const c = v({ upstreams: { exchange: { ...base, delegated: { user: 'invoices@contoso.com' } } } });
  const up = c.upstreams.exchange;
  assert.ok(up && up.type === 'exchange-mailbox');
  assert.deepEqual(up.delegated, {
    user: 'invoices@contoso.com',
    scope: 'https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All offline_access',
  });
  assert.equal(up.clientSecret, undefined);
  const two = problems({ upstreams: { exchange: { ...base, clientSecret: 'x', delegated: { user: 'invoices@contoso.com' } } } });
  assert.match(two.join('\n'), /exactly one credential: clientSecret or certificate .*, or delegated \(one user signs in by device code/);
  assert.match(problems({ upstreams: { exchange: base } }).join('\n'), /exactly one credential/);
  assert.match(problems({ upstreams: { exchange: { ...base, delegated: { user: 'a@b.c', password: 'no' } } } }).join('\n'), /password/);
  const own = v({ upstreams: { exchange: { ...base, delegated: { user: 'a@b.c', scope: 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access' } } } }).upstreams.exchange;
  assert.ok(own?.type === 'exchange-mailbox' && own.delegated?.scope === 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access');
});
