/**
 * The `migration` section of the configuration: the defaults once it is
 * there (period D30, a daily scan, Microsoft's deadline, 14 days to quiet),
 * the upstream it names must be a Microsoft upstream with an app
 * credential, either an upstream or a separate app (paths resolved), and
 * clear sentences for every mistake.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig, ConfigError } from '../../src/config/load.js';
import { migrationSettings, scanApp } from '../../src/migration/scan-app.js';

const graph = { type: 'graph', tenant: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', clientSecret: 'x' };
const v = (raw: unknown) => validateConfig(raw, { env: {} }, '/etc/authrelay');
const problems = (raw: unknown): string[] => {
  try {
    v(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('the configuration was accepted');
};

test('migration: the defaults, and none of it without the section (no scheduled scan)', { timeout: 5_000 }, () => {
  const c = v({ upstreams: { m365: graph }, migration: {} });
  assert.deepEqual(c.migration, { period: 'D30', schedule: 'daily', deadline: '2026-12-31', quietAfter: 14 * 86_400_000, keepScans: 400 * 86_400_000 });
  assert.deepEqual(migrationSettings(c), { period: 'D30', schedule: 'daily', deadline: '2026-12-31', quietAfter: 14 * 86_400_000, keepScans: 400 * 86_400_000, configured: true });
  assert.equal(scanApp(c).label, 'upstream m365', 'the one Microsoft upstream');
  const none = v({ upstreams: { m365: graph } });
  assert.equal(none.migration, undefined);
  assert.equal(migrationSettings(none).schedule, 'off');
});

test('migration: the upstream must exist and read the tenant with an app; or a separate app, whose files are resolved', { timeout: 5_000 }, () => {
  assert.deepEqual(problems({ upstreams: { m365: graph }, migration: { upstream: 'm356' } }), ['migration.upstream: no upstream named "m356"; use one of m365']);
  assert.deepEqual(problems({ upstreams: { relay: { type: 'smtp', host: 'smtp.example.com' } }, migration: { upstream: 'relay' } }),
    ['migration.upstream: "relay" is a smtp upstream; the scan needs the app registration of a graph or smtp-oauth upstream, or migration.app']);
  assert.deepEqual(problems({ upstreams: { m365: { ...graph, type: 'smtp-oauth', clientSecret: undefined, delegated: { user: 'scanner@contoso.com' } } }, migration: { upstream: 'm365' } }),
    ['migration.upstream: "m365" signs in as one mailbox (delegated); the scan needs an app credential (client secret or certificate): use another upstream or migration.app']);
  assert.deepEqual(problems({ upstreams: {}, migration: {} }),
    ['migration: no graph or smtp-oauth upstream with an app credential to read the tenant with; give migration.app (tenant, clientId, clientSecret or certificate)']);
  assert.deepEqual(problems({ upstreams: { a: graph, b: graph }, migration: {} }), ['migration.upstream: several upstreams could read the tenant (a, b); name one']);
  assert.deepEqual(problems({ upstreams: { a: graph }, migration: { upstream: 'a', app: { tenant: 't', clientId: 'c', clientSecret: 's' } } }),
    ["migration: set either upstream (use that upstream's app registration) or app (a separate one), not both"]);
  assert.match(problems({ migration: { app: { tenant: 't', clientId: 'c' } } }).join(), /migration\.app needs exactly one credential/);
  assert.match(problems({ upstreams: { a: graph }, migration: { deadline: '31.12.2026' } }).join(), /migration\.deadline: must be a date such as 2026-12-31/);
  assert.match(problems({ upstreams: { a: graph }, migration: { period: 'D14' } }).join(), /migration\.period: .*use one of "D7", "D30", "D90", "D180"/);
  const app = v({ migration: { app: { tenant: 't', clientId: 'c', certificate: { cert: 'app.crt', key: 'keys/app.key' }, ca: 'ca.pem' } } });
  assert.deepEqual([app.migration?.app?.certificate?.cert, app.migration?.app?.certificate?.key, app.migration?.app?.ca],
    ['/etc/authrelay/app.crt', '/etc/authrelay/keys/app.key', '/etc/authrelay/ca.pem']);
  const separate = scanApp(app);
  assert.deepEqual([separate.label, separate.cfg.type, separate.cfg.tenant], ['migration.app', 'graph', 't']);
});
