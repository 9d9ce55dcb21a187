/**
 * National clouds and endpoint overrides: where authrelay signs in, calls
 * Graph and submits SMTP, and which resource each token is for.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveEndpoints, delegatedScopes, parseHostPort } from '../../src/identity/entra/clouds.js';
import { authorityOf, authorityMetadata } from '../../src/identity/entra/msal-config.js';
import { exchangeMailboxUpstreamSchema, graphUpstreamSchema, smtpOauthUpstreamSchema } from '../../src/config/schema.js';

const base = { type: 'graph', tenant: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', clientSecret: 's' };

describe('resolveEndpoints', () => {
  test('the four clouds', () => {
    const expected = {
      global: ['https://login.microsoftonline.com', 'https://graph.microsoft.com/v1.0', 'https://graph.microsoft.com/.default', 'smtp.office365.com', 'https://outlook.office365.com/.default', 'https://outlook.office.com/SMTP.Send'],
      usgov: ['https://login.microsoftonline.us', 'https://graph.microsoft.us/v1.0', 'https://graph.microsoft.us/.default', 'smtp.office365.us', 'https://outlook.office365.us/.default', 'https://outlook.office365.us/SMTP.Send'],
      'usgov-dod': ['https://login.microsoftonline.us', 'https://dod-graph.microsoft.us/v1.0', 'https://dod-graph.microsoft.us/.default', 'outlook-dod.office365.us', 'https://outlook-dod.office365.us/.default', 'https://outlook-dod.office365.us/SMTP.Send'],
      china: ['https://login.chinacloudapi.cn', 'https://microsoftgraph.chinacloudapi.cn/v1.0', 'https://microsoftgraph.chinacloudapi.cn/.default', 'smtp.partner.outlook.cn', 'https://partner.outlook.cn/.default', 'https://partner.outlook.cn/SMTP.Send'],
    } as const;
    for (const [cloud, [authority, graph, graphScope, smtp, smtpScope, delegated]] of Object.entries(expected)) {
      const e = resolveEndpoints(graphUpstreamSchema.parse({ ...base, cloud }));
      assert.deepEqual(
        [e.cloud, e.authorityHost, e.graphUrl, e.graphScope, e.smtpHost, e.smtpScope, e.smtpDelegatedScope, e.smtpPort],
        [cloud, authority, graph, graphScope, smtp, smtpScope, delegated, undefined],
        cloud,
      );
    }
  });

  test('the cloud defaults to global', () => {
    assert.equal(resolveEndpoints(graphUpstreamSchema.parse(base)).authorityHost, 'https://login.microsoftonline.com');
  });

  test('overrides change where to connect, not the token audience', () => {
    const cfg = graphUpstreamSchema.parse({
      ...base,
      cloud: 'usgov',
      endpoints: { authority: 'https://127.0.0.1:8443/', graph: 'https://127.0.0.1:8443/v1.0/', smtp: '127.0.0.1:2587' },
    });
    const e = resolveEndpoints(cfg);
    assert.equal(e.authorityHost, 'https://127.0.0.1:8443');
    assert.equal(e.graphUrl, 'https://127.0.0.1:8443/v1.0');
    assert.equal(e.smtpHost, '127.0.0.1');
    assert.equal(e.smtpPort, 2587);
    assert.equal(e.graphScope, 'https://graph.microsoft.us/.default');
    assert.equal(e.smtpScope, 'https://outlook.office365.us/.default');
  });

  test('smtp override without a port keeps the upstream port', () => {
    const e = resolveEndpoints(graphUpstreamSchema.parse({ ...base, endpoints: { smtp: 'smtp.example.net' } }));
    assert.equal(e.smtpHost, 'smtp.example.net');
    assert.equal(e.smtpPort, undefined);
  });

  test('host[:port] forms, and a bad port is refused', () => {
    assert.deepEqual(parseHostPort('[::1]:2525'), { host: '::1', port: 2525 });
    assert.deepEqual(parseHostPort('[::1]'), { host: '::1' });
    assert.deepEqual(parseHostPort('mail.example:25'), { host: 'mail.example', port: 25 });
    assert.throws(() => parseHostPort('mail.example:99999'), /port must be a number from 1 to 65535/);
  });
});

describe('delegated scopes', () => {
  const smtp = { type: 'smtp-oauth', tenant: 't', clientId: 'c', delegated: { user: 'scanner@contoso.com' } };
  test('the default scope follows the cloud', () => {
    const global = smtpOauthUpstreamSchema.parse(smtp);
    assert.deepEqual(delegatedScopes(global, global.delegated?.scope), ['https://outlook.office.com/SMTP.Send', 'offline_access']);
    const gov = smtpOauthUpstreamSchema.parse({ ...smtp, cloud: 'usgov' });
    assert.deepEqual(delegatedScopes(gov, gov.delegated?.scope), ['https://outlook.office365.us/SMTP.Send', 'offline_access']);
  });
  test('a configured scope is used as written', () => {
    const cfg = smtpOauthUpstreamSchema.parse({ ...smtp, cloud: 'china', delegated: { user: 'u@x', scope: 'https://outlook.office365.com/SMTP.Send offline_access' } });
    assert.deepEqual(delegatedScopes(cfg, cfg.delegated?.scope), ['https://outlook.office365.com/SMTP.Send', 'offline_access']);
  });
  test('exchange-mailbox: IMAP and POP of the cloud\'s Exchange resource, and offline_access', () => {
    const reader = { type: 'exchange-mailbox', tenant: 't', clientId: 'c', delegated: { user: 'invoices@contoso.com' } };
    const global = exchangeMailboxUpstreamSchema.parse(reader);
    assert.deepEqual(delegatedScopes(global, global.delegated?.scope), ['https://outlook.office.com/IMAP.AccessAsUser.All', 'https://outlook.office.com/POP.AccessAsUser.All', 'offline_access']);
    const gov = exchangeMailboxUpstreamSchema.parse({ ...reader, cloud: 'usgov' });
    assert.deepEqual(delegatedScopes(gov, gov.delegated?.scope), ['https://outlook.office365.us/IMAP.AccessAsUser.All', 'https://outlook.office365.us/POP.AccessAsUser.All', 'offline_access']);
  });
});

describe('authority metadata given to MSAL', () => {
  test('v2.0 endpoints under the tenant, issuer on the same origin', () => {
    const a = authorityOf(graphUpstreamSchema.parse({ ...base, endpoints: { authority: 'https://127.0.0.1:9443' } }));
    assert.equal(a.url, 'https://127.0.0.1:9443/contoso.onmicrosoft.com');
    assert.equal(a.host, '127.0.0.1:9443');
    const m = JSON.parse(authorityMetadata(a)) as Record<string, string>;
    assert.equal(m.token_endpoint, 'https://127.0.0.1:9443/contoso.onmicrosoft.com/oauth2/v2.0/token');
    assert.equal(m.issuer, 'https://127.0.0.1:9443/contoso.onmicrosoft.com/v2.0');
  });
});
