/**
 * The catalogue of upstream failures: every kind has an example here (the
 * server's line, or the error), is classified from it, and is explained
 * with the fix — the PowerShell lines with the real ids from the token —
 * and a short client text that holds no id and no secret.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyRefusal, explainFailure, greetingRefusalKind, REFUSAL_RULES } from '../../src/proxy/common/failure-catalogue.js';
import type { UpstreamFailure, UpstreamFailureKind } from '../../src/proxy/common/types.js';
import type { TokenFacts } from '../../src/proxy/common/xoauth2.js';

const APP = '11111111-2222-3333-4444-555555555555';
const SP = '99999999-8888-7777-6666-555555555555';
const withRole: TokenFacts = { appId: APP, objectId: SP, tenantId: 't', roles: ['IMAP.AccessAsApp', 'POP.AccessAsApp'], scopes: [], appOnly: true };
const noRole: TokenFacts = { ...withRole, roles: ['SMTP.SendAsApp'] };
const ctx = (token?: TokenFacts) => ({ protocol: 'imap' as const, mailbox: 'scans@contoso.com', upstream: 'outlook.office365.com:993', ...(token ? { token } : {}) });

const EXAMPLES: { kind: UpstreamFailureKind; line: string; token?: TokenFacts; protocol?: 'imap' | 'pop3' }[] = [
  { kind: 'role-missing', line: 'A1 NO AUTHENTICATE failed.', token: noRole },
  { kind: 'no-permission', line: 'A1 NO AUTHENTICATE failed.', token: withRole },
  { kind: 'no-permission', line: '-ERR Authentication failure: unknown user name or bad password.', token: withRole, protocol: 'pop3' },
  { kind: 'role-missing', line: '-ERR [AUTH] Authentication failed.', token: noRole, protocol: 'pop3' },
  { kind: 'auth-failed', line: 'A1 NO [AUTHENTICATIONFAILED] Authentication failed.' },
  { kind: 'not-connected', line: 'A2 BAD User is authenticated but not connected.', token: withRole },
  { kind: 'protocol-disabled', line: 'A1 NO IMAP access is disabled for this mailbox.', token: withRole },
  { kind: 'throttled', line: 'A1 NO [UNAVAILABLE] Server busy, try again later.', token: withRole },
  { kind: 'throttled', line: '* BYE Maximum number of connections from user+IP exceeded (mail_max_userip_connections=10)', token: withRole },
];

describe('failure catalogue', () => {
  for (const e of EXAMPLES) {
    test(`${e.kind}: ${e.line}`, () => {
      assert.equal(classifyRefusal(e.protocol ?? 'imap', e.line, e.token), e.kind);
    });
  }

  test('a missing role: grant it, then register the service principal and give it the mailbox, with the real ids', () => {
    const x = explainFailure({ kind: 'role-missing', stage: 'auth', upstreamText: 'A1 NO AUTHENTICATE failed.' }, ctx(noRole));
    assert.match(x.fix[0]!, /IMAP\.AccessAsApp.*Grant admin consent/);
    assert.equal(x.fix[1], `New-ServicePrincipal -AppId ${APP} -ObjectId ${SP}`);
    assert.equal(x.fix[2], `Add-MailboxPermission -Identity scans@contoso.com -User ${SP} -AccessRights FullAccess`);
    assert.equal(x.temporary, false);
  });

  test('every kind is explained; client texts are short and carry no ids', () => {
    const kinds: UpstreamFailureKind[] = ['role-missing', 'no-permission', 'auth-failed', 'not-connected', 'protocol-disabled', 'throttled', 'unreachable', 'token-failed', 'protocol-error'];
    for (const kind of kinds) {
      for (const protocol of ['imap', 'pop3'] as const) {
        const f: UpstreamFailure = { kind, stage: 'auth', upstreamText: 'x' };
        const x = explainFailure(f, { ...ctx(withRole), protocol });
        assert.equal(x.kind, kind);
        assert.ok(x.summary.endsWith('.'), `${kind}: a whole sentence`);
        assert.ok(x.fix.length > 0, `${kind}: a fix`);
        assert.ok(x.clientText.length < 120 && !x.clientText.includes(APP) && !x.clientText.includes(SP), `${kind}: ${x.clientText}`);
      }
    }
    const unknownToken = explainFailure({ kind: 'auth-failed', stage: 'auth', upstreamText: 'A1 NO AUTHENTICATE failed.' }, ctx());
    assert.match(unknownToken.fix.join('\n'), /New-ServicePrincipal -AppId <application \(client\) id> -ObjectId <Enterprise application object id>/);
    assert.equal(explainFailure({ kind: 'protocol-disabled', stage: 'auth', upstreamText: '' }, { ...ctx(), protocol: 'pop3' }).fix[0],
      'Set-CASMailbox -Identity scans@contoso.com -PopEnabled $true');
  });

  test('greetings that refuse, and the rules are ordered from specific to general', () => {
    assert.equal(greetingRefusalKind('* BYE Too many connections'), 'throttled');
    assert.equal(greetingRefusalKind('-ERR Service unavailable'), 'unreachable');
    assert.equal(REFUSAL_RULES.at(-1)?.kind, 'auth-failed');
  });
});
