/**
 * The Microsoft 365 error catalogue stays complete and consistent: every entry
 * documented in docs/errors.md and docs/ja/errors.md, every example explained by its own entry and
 * by no earlier one, every code named in the catalogue's brief covered, and
 * the explain functions (including unknown and network token errors and the
 * generic SMTP classifier) giving the fix with placeholders filled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CATALOGUE, explainEntra, explainGeneric, explainGraph, explainScan, explainSmtp, explainTokenError, fillPlaceholders, matchesEntra, matchesGeneric,
  matchesGraph, matchesScan, matchesSmtp, outcomeFrom, type CatalogueEntry, type GenericAnswer, type ScanExample,
} from '../../src/deliver/microsoft/catalogue.js';
import { TokenError } from '../../src/identity/entra/token-provider.js';
import { classifySmtpError, classifySmtpReply } from '../../src/deliver/smtp/classify.js';
import { renderErrorsDoc } from '../../src/deliver/microsoft/catalogue-doc.js';

const docs = readFileSync(fileURLToPath(new URL('../../../docs/errors.md', import.meta.url)), 'utf8');
const docsJa = readFileSync(fileURLToPath(new URL('../../../docs/ja/errors.md', import.meta.url)), 'utf8');

function matches(e: CatalogueEntry, example: CatalogueEntry['example']): boolean {
  if (e.source === 'smtp') return typeof example === 'string' && matchesSmtp(e, example);
  if (typeof example === 'string') return false;
  const generic = !('status' in example) && !('aadsts' in example) && ('response' in example || 'command' in example) && !('description' in example);
  if (e.source === 'generic') return generic && matchesGeneric(e, example as GenericAnswer);
  if (generic) return false;
  if (e.source === 'scan') return 'operation' in example && typeof example.operation === 'string' && ['usage-report', 'sign-ins', 'report-settings'].includes(example.operation)
    && matchesScan(e, example as ScanExample);
  if ('operation' in example && ['usage-report', 'sign-ins', 'report-settings'].includes(String(example.operation))) return false;
  if (e.source === 'graph') return 'status' in example && example.status !== undefined && matchesGraph(e, example.status, (example as { code?: string }).code, (example as { message?: string }).message, (example as { operation?: 'draft' }).operation);
  return matchesEntra(e, example);
}

test('every entry: unique ref, non-empty hint and fix, listed in docs/errors.md and docs/ja/errors.md', () => {
  assert.ok(CATALOGUE.length >= 60, `only ${CATALOGUE.length} entries`);
  const refs = new Set<string>();
  for (const e of CATALOGUE) {
    assert.ok(!refs.has(e.ref), `duplicate ref ${e.ref}`);
    refs.add(e.ref);
    assert.ok(e.ref.startsWith(`${e.source}.`), `${e.ref} is not named after its source ${e.source}`);
    assert.ok(e.hint.trim().length > 20, `${e.ref}: empty hint`);
    assert.ok(e.fix.trim().length > 20, `${e.ref}: empty fix`);
    assert.ok(docs.includes(`| \`${e.ref}\` |`), `${e.ref} is not in docs/errors.md`);
    assert.ok(docsJa.includes(`| \`${e.ref}\` |`), `${e.ref} is not in docs/ja/errors.md`);
    if (e.retryAfterMs !== undefined) assert.equal(e.action, 'retry', `${e.ref}: a wait only makes sense for a retry`);
  }
  for (const m of docs.matchAll(/^\| `([a-z]+\.[^`]+)` \|/gm)) assert.ok(refs.has(m[1]!), `docs/errors.md lists ${m[1]}, which the catalogue does not have`);
  for (const m of docsJa.matchAll(/^\| `([a-z]+\.[^`]+)` \|/gm)) assert.ok(refs.has(m[1]!), `docs/ja/errors.md lists ${m[1]}, which the catalogue does not have`);
});

test('docs/errors.md and docs/ja/errors.md show each entry as the catalogue has it (action, meaning, fix): node scripts/errors-doc.mjs rewrites them', () => {
  assert.equal(docs, renderErrorsDoc(docs));
  assert.equal(docsJa, renderErrorsDoc(docsJa, 'ja'));
  // The Japanese document is the Japanese rendering: Japanese headings, header and actions, the entries' ja.
  assert.match(docsJa, /^\| ref \| 応答の例 \| 動作 \| 意味 \| 対処 \|$/m);
  assert.match(docsJa, /^## SMTP の応答 \(SMTP AUTH、Direct Send、コネクタ経由のリレー\)$/m);
  assert.match(docsJa, /^\| `smtp\.5\.7\.139\.mailbox-disabled` \| .* \| 失敗 \| メールボックス &lt;mailbox&gt; で SMTP AUTH が無効/m);
  assert.match(docsJa, /^\| `graph\.ErrorSubmissionQuotaExceeded` \| .* \| 再試行 \(24 時間後\) \|/m);
  assert.match(docsJa, /^\| `graph\.ServiceUnavailable` \| .* \| 再試行 \(ルートが待機\) \|/m);
  assert.doesNotMatch(docsJa, /\| (retry|fail)[ ,(|]/, 'no English action in the Japanese tables');
  assert.ok(docs.includes('(ja/errors.md)'), 'docs/errors.md links the Japanese version');
  assert.ok(docsJa.includes('(../errors.md)'), 'docs/ja/errors.md links the English version');
});

test('every example is matched by its own entry and by no earlier entry of its source', () => {
  for (const [i, e] of CATALOGUE.entries()) {
    assert.ok(matches(e, e.example), `${e.ref} does not match its own example`);
    for (const earlier of CATALOGUE.slice(0, i).filter((x) => x.source === e.source)) {
      assert.ok(!matches(earlier, e.example), `${e.ref}'s example is taken first by ${earlier.ref}`);
    }
  }
});

test('the explain functions return the entry of each example', () => {
  for (const e of CATALOGUE) {
    const got = e.source === 'smtp' ? explainSmtp(e.example)
      : e.source === 'generic' ? explainGeneric(e.example)
      : e.source === 'graph' ? explainGraph(e.example.status, e.example.code, e.example.message, { operation: e.example.operation })
        : e.source === 'scan' ? explainScan(e.example)
          : explainEntra(e.example);
    assert.equal(got?.ref, e.ref, `example of ${e.ref}`);
    assert.equal(got.action, e.action);
    assert.equal(got.scope, e.scope);
  }
});

test('every AADSTS code the catalogue must know is covered by a named entry', () => {
  const codes = [7000215, 7000222, 7000218, 700027, 700016, 90002, 700022, 70011, 65001, 90094, 70008, 700082, 50173, 50076, 50079, 53003, 50034, 7000112, 50126];
  for (const n of codes) {
    const got = explainEntra({ status: 400, error: 'invalid_grant', aadsts: n });
    assert.ok(got, `AADSTS${n} not covered`);
    assert.match(got.ref, /^entra\.AADSTS\d+$/, `AADSTS${n} → ${got.ref}`);
    // Found from the description alone too, as some answers only carry it there.
    assert.equal(explainEntra({ status: 400, description: `AADSTS${n}: something.\r\nTrace ID: x` })?.ref, got.ref);
  }
  assert.equal(explainEntra({ networkCode: 'EAI_AGAIN' })?.ref, 'entra.network-dns');
  assert.equal(explainEntra({ networkCode: 'ETIMEDOUT' })?.ref, 'entra.network-connect');
  assert.equal(explainEntra({ networkCode: 'CERT_HAS_EXPIRED' })?.ref, 'entra.network-tls');
  assert.equal(explainEntra({ networkCode: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })?.ref, 'entra.network-tls');
  assert.equal(explainEntra({ notSignedIn: true })?.ref, 'entra.not-signed-in');
});

test('every Graph answer the catalogue must know is covered', () => {
  const cases: [number, string | undefined, string | undefined, string, ('sendMail' | 'draft' | 'send-draft')?][] = [
    [403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.', 'graph.ErrorAccessDenied'],
    [403, 'ErrorAccessDenied', 'Access to OData is disabled.', 'graph.ErrorAccessDenied.access-policy'],
    [403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.', 'graph.ErrorAccessDenied.Mail.ReadWrite', 'draft'],
    [403, 'ErrorAccessDenied', 'Access to OData is disabled.', 'graph.ErrorAccessDenied.access-policy', 'draft'],
    [403, 'ErrorSendAsDenied', 'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account.', 'graph.ErrorSendAsDenied'],
    [404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.', 'graph.MailboxNotEnabledForRESTAPI'],
    [404, 'ErrorInvalidUser', "The requested user 'x@contoso.com' is invalid.", 'graph.ErrorInvalidUser'],
    [404, 'ResourceNotFound', 'Resource could not be discovered.', 'graph.ErrorInvalidUser'],
    [400, 'ErrorInvalidRecipients', 'At least one recipient is not valid.', 'graph.ErrorInvalidRecipients'],
    [400, 'ErrorMessageSizeExceeded', 'The message exceeds the maximum supported size.', 'graph.ErrorMessageSizeExceeded'],
    [413, undefined, undefined, 'graph.413'],
    [400, 'BadRequest', 'The maximum request length supported is 4MB.', 'graph.BadRequest.maximum-request-length'],
    [400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.', 'graph.ErrorMimeContentInvalidBase64String'],
    [400, 'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize', 'Attachment size must be greater than the minimum size.', 'graph.ErrorAttachmentSizeShouldNotBeLessThanMinimumSize'],
    [401, 'InvalidAuthenticationToken', 'Access token has expired or is not yet valid.', 'graph.InvalidAuthenticationToken'],
    [429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', 'graph.ApplicationThrottled'],
    [503, 'ResourceUnhealthy', 'MdbReplicationProtectionUtilizationMonitor is unhealthy.', 'graph.ServiceUnavailable'],
    [503, 'ServiceUnavailable', 'Service unavailable.', 'graph.ServiceUnavailable'],
    [504, 'GatewayTimeout', undefined, 'graph.GatewayTimeout'],
    [507, 'ErrorQuotaExceeded', 'The mailbox is over its quota.', 'graph.ErrorQuotaExceeded'],
    [404, 'ErrorItemNotFound', 'The specified object was not found in the store.', 'graph.ErrorItemNotFound', 'send-draft'],
  ];
  for (const [status, code, message, ref, operation] of cases) {
    assert.equal(explainGraph(status, code, message, { operation })?.ref, ref, `${status} ${code} ${message ?? ''} (${operation ?? 'sendMail'})`);
  }
  assert.equal(explainGraph(400, 'ErrorSomethingNew', 'new'), undefined, 'an unknown answer is left to the transport');
});

test('every SMTP reply the catalogue must know is covered', () => {
  const H = ' [DM6PR19MB2555.namprd19.prod.outlook.com 2025-03-04T10:11:12.345Z 08DD5B1C2A3E4F50]';
  const cases: [string, string][] = [
    ['535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]', 'smtp.5.7.3'],
    [`535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.${H}`, 'smtp.5.7.139.tenant-disabled'],
    [`535 5.7.139 Authentication unsuccessful, basic authentication is disabled.${H}`, 'smtp.5.7.139.basic-auth-disabled'],
    [`535 5.7.139 Authentication unsuccessful, the user credentials were incorrect.${H}`, 'smtp.5.7.139.credentials-incorrect'],
    [`535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator.${H}`, 'smtp.5.7.139.security-defaults'],
    [`535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator.${H}`, 'smtp.5.7.139.criteria'],
    [`535 5.7.139 Authentication unsuccessful, the organization configuration doesn't allow this authentication request.${H}`, 'smtp.5.7.139.organization-configuration'],
    ['550 5.7.30 Basic authentication is not supported for Client Submission.', 'smtp.5.7.30'],
    ['530 5.7.57 Client was not authenticated to send anonymous mail during MAIL FROM', 'smtp.5.7.57'],
    ['554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message Cannot submit message.', 'smtp.5.2.0.SendAsDenied'],
    ['554 5.2.252 SendAsDenied; a@contoso.com not allowed to send as b@contoso.com; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied', 'smtp.5.2.252.SendAsDenied'],
    ['5.7.60 SMTP; Client does not have permissions to send as this sender', 'smtp.5.7.60'],
    ['432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded', 'smtp.4.3.2.sender-thread-limit'],
    ['432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information.', 'smtp.4.3.2.concurrent-connections'],
    ['421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. Visit https://aka.ms/smtp_auth_tls.', 'smtp.4.7.66'],
    ['554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception', 'smtp.5.2.0.SubmissionQuotaExceeded'],
    ['550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources', 'smtp.5.7.68.RejectDirectSend'],
    ['550 5.7.64 TenantAttribution; Relay Access Denied', 'smtp.5.7.64.TenantAttribution'],
    ['451 4.4.62 Mail sent to the wrong Office 365 region. ATTR35.', 'smtp.4.4.62'],
    ['550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.', 'smtp.5.7.700-749'],
    ['550 5.7.700 Access denied, tenant has exceeded threshold.', 'smtp.5.7.700-749'],
    ['550 5.7.749 Access denied, tenant has exceeded threshold.', 'smtp.5.7.700-749'],
    ['550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains.', 'smtp.5.7.750'],
    ['451 4.7.500 Server busy. Please try again later from [203.0.113.5]. (S77719)', 'smtp.4.7.500-699'],
    ['451 4.7.699 Access denied, please try again later.', 'smtp.4.7.500-699'],
    ['550 5.7.606 Access denied, banned sending IP [203.0.113.5].', 'smtp.5.7.606-649'],
    ['550 5.7.649 Access denied, banned sending IP [203.0.113.5].', 'smtp.5.7.606-649'],
    ['452 4.5.3 Too many recipients', 'smtp.4.5.3'],
    ['501 5.5.124 Invalid XOAUTH2 auth data', 'smtp.5.5.124'],
    ['550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient x@contoso.com not found by SMTP address lookup', 'smtp.5.1.10'],
    ['554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded', 'smtp.5.2.2.mailbox-full'],
    ['550 5.4.1 Recipient address rejected: Access denied. For more information see https://aka.ms/EXOSmtpErrors', 'smtp.5.4.1'],
    // Continuation lines are joined before matching.
    ['550-5.7.64 TenantAttribution;\r\n550 5.7.64 Relay Access Denied', 'smtp.5.7.64.TenantAttribution'],
  ];
  for (const [reply, ref] of cases) assert.equal(explainSmtp(reply)?.ref, ref, reply);
  for (const other of ['550 5.7.750x', '550 5.7.605 other', '550 5.7.650 other', '451 4.7.499 other', '550 5.1.1 <x@example.com>: Recipient address rejected: User unknown', '250 2.0.0 OK']) {
    assert.equal(explainSmtp(other), undefined, `${other} is not Microsoft's`);
  }
  const quota = explainSmtp('554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException');
  assert.equal(quota?.retryAfterMs, 24 * 3_600_000, 'the daily quota waits a day');
});

test('explainTokenError: catalogued, network, not signed in, and unknown errors all become outcomes', () => {
  const ctx = { mailbox: 'scanner@contoso.com', appId: '1111-app', tenant: 'contoso.onmicrosoft.com', upstream: 'm365' };
  const secret = explainTokenError(new TokenError('token request failed', {
    status: 401, error: 'invalid_client', aadsts: 7000222,
    description: "AADSTS7000222: The provided client secret keys for app '1111-app' are expired.\r\nTrace ID: x",
  }), ctx);
  assert.equal(secret.ref, 'entra.AADSTS7000222');
  assert.equal(secret.action, 'retry');
  assert.equal(secret.scope, 'destination');
  assert.equal(secret.code, 401);
  assert.match(secret.response ?? '', /^AADSTS7000222: The provided client secret keys/);
  assert.match(secret.fix ?? '', /App registrations → 1111-app → Certificates & secrets/, 'the app id is filled in');

  const dns = explainTokenError(new TokenError('getaddrinfo ENOTFOUND login.microsoftonline.com', { networkCode: 'ENOTFOUND' }), ctx);
  assert.deepEqual([dns.ref, dns.action, dns.scope, dns.category, dns.code], ['entra.network-dns', 'retry', 'destination', 'connection', undefined]);
  assert.match(dns.response ?? '', /^ENOTFOUND: getaddrinfo ENOTFOUND login\.microsoftonline\.com/);
  const refused = explainTokenError(new TokenError('connect ECONNREFUSED 127.0.0.1:443', { networkCode: 'ECONNREFUSED' }));
  assert.equal(refused.ref, 'entra.network-connect');
  const cert = explainTokenError(new TokenError('self-signed certificate in certificate chain', { networkCode: 'SELF_SIGNED_CERT_IN_CHAIN' }));
  assert.deepEqual([cert.ref, cert.category], ['entra.network-tls', 'tls']);
  assert.match(cert.fix ?? '', /ca: /);

  const login = explainTokenError(new TokenError('no sign-in stored for m365', { notSignedIn: true }), ctx);
  assert.equal(login.ref, 'entra.not-signed-in');
  assert.match(login.fix ?? '', /authrelay oauth login m365 and sign in as scanner@contoso\.com/);

  const unknown = explainTokenError(new TokenError('token request failed', { status: 400, error: 'invalid_request', description: 'AADSTS9999999: Something new happened.\r\nTrace ID: y' }));
  assert.deepEqual([unknown.ref, unknown.action, unknown.scope, unknown.code], ['entra.unknown-aadsts', 'retry', 'destination', 400]);
  assert.match(unknown.hint ?? '', /AADSTS9999999: Something new happened\./);
  assert.ok(!(unknown.hint ?? '').includes('Trace ID'), 'only the first line of the description');
  assert.match(unknown.fix ?? '', /login\.microsoftonline\.com\/error\?code=9999999/);
  const bare = explainTokenError(new TokenError('unexpected answer from the token endpoint', { status: 418 }));
  assert.equal(bare.ref, 'entra.unknown');
  assert.equal(bare.response, 'unexpected answer from the token endpoint');
  assert.equal(explainTokenError(new TokenError('busy', { status: 503, error: 'temporarily_unavailable' })).ref, 'entra.unavailable');
});

test('a lost or unconsented delegated sign-in: the code\'s entry for a route, the IMAP/POP entries (fail, with doctor) for reading mailboxes', () => {
  const revoked = () => new TokenError('renewing the sign-in of scanner@contoso.com: AADSTS50173', { status: 400, error: 'invalid_grant', aadsts: 50173, notSignedIn: true });
  const ctx = { upstream: 'exchange', mailbox: 'scanner@contoso.com', appId: '1111-app', tenant: 'contoso.onmicrosoft.com' };
  assert.equal(explainTokenError(revoked(), ctx).ref, 'entra.AADSTS70008', 'expired or revoked, not "nobody signed in"');
  const reader = explainTokenError(revoked(), { ...ctx, reader: true });
  assert.deepEqual([reader.ref, reader.action], ['entra.reader.sign-in-lost', 'fail']);
  assert.match(reader.fix ?? '', /^Run: authrelay oauth login exchange and sign in as scanner@contoso\.com again\. Then check with: authrelay doctor/);
  assert.match(reader.ja?.fix ?? '', /authrelay oauth login exchange を実行し/);
  const consent = explainTokenError(new TokenError('x', { status: 400, error: 'invalid_grant', aadsts: 65001, notSignedIn: true }), { ...ctx, reader: true });
  assert.equal(consent.ref, 'entra.reader.consent');
  assert.match(consent.fix ?? '', /App registrations → 1111-app → API permissions .*Delegated permissions, add IMAP\.AccessAsUser\.All and POP\.AccessAsUser\.All, then "Grant admin consent for contoso\.onmicrosoft\.com"/);
  assert.match(consent.ja?.fix ?? '', /\[委任されたアクセス許可\]/);
  assert.equal(explainTokenError(new TokenError('x', { notSignedIn: true }), { ...ctx, reader: true }).ref, 'entra.reader.not-signed-in');
});

test('fillPlaceholders fills what it knows and leaves the rest; explainSmtp and explainGraph use it', () => {
  assert.equal(fillPlaceholders('Set-CASMailbox -Identity <mailbox> for <appId> in <tenant>; <queue id>', { mailbox: 'a@b.c', appId: 'X' }), 'Set-CASMailbox -Identity a@b.c for X in <tenant>; <queue id>');
  const e = explainSmtp('535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.', { mailbox: 'scanner@contoso.com' });
  assert.match(e?.fix ?? '', /Set-CASMailbox -Identity scanner@contoso\.com -SmtpClientAuthenticationDisabled \$false/);
  const g = explainGraph(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.', { appId: 'app-1', tenant: 'contoso' });
  assert.match(g?.fix ?? '', /App registrations → app-1 → API permissions .* Mail\.Send → Grant admin consent for contoso/);
  // A missing permission fails the message at once, with the fix (queue retry --failed once fixed): no wait.
  const o = outcomeFrom(g!, { code: 403, response: '403 ErrorAccessDenied: Access is denied.', retryAfterMs: 5000 });
  assert.deepEqual([o.action, o.scope, o.code, o.ref, o.retryAfterMs], ['fail', 'message', 403, 'graph.ErrorAccessDenied', undefined]);
  assert.match(o.fix ?? '', /App registrations → app-1 → /);
  // An outage waits as long as the reply asks.
  const busy = outcomeFrom(explainGraph(503, 'ResourceUnhealthy', 'MdbReplicationProtectionUtilizationMonitor is unhealthy.')!, { code: 503, retryAfterMs: 5000 });
  assert.deepEqual([busy.action, busy.scope, busy.code, busy.ref, busy.retryAfterMs], ['retry', 'destination', 503, 'graph.ServiceUnavailable', 5000]);
  const failed = outcomeFrom(explainSmtp('550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found')!, { retryAfterMs: 5000 });
  assert.equal(failed.retryAfterMs, undefined, 'no wait on a final failure');
});

test('every answer of the migration scan is covered: licence, permissions, concealed names, throttling, with the app and tenant filled in', () => {
  const ctx = { appId: 'app-1', tenant: 'contoso.onmicrosoft.com' };
  const cases: [Parameters<typeof explainScan>[0], string][] = [
    [{ operation: 'sign-ins', status: 403, code: 'Authentication_RequestFromNonPremiumTenantOrB2CTenant', message: 'Tenant is not a B2C tenant and doesn\'t have premium license' }, 'scan.Authentication_RequestFromNonPremiumTenantOrB2CTenant'],
    [{ operation: 'sign-ins', status: 403, code: 'Authentication_MSGraphPermissionMissing', message: 'Calling principal does not have required MSGraph permissions AuditLog.Read.All' }, 'scan.sign-ins.AuditLog.Read.All'],
    [{ operation: 'sign-ins', status: 403, code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' }, 'scan.sign-ins.AuditLog.Read.All'],
    [{ operation: 'sign-ins', status: 403, code: 'Authentication_ApplicationHasNoDirectoryReadAccess' }, 'scan.Authentication_ApplicationHasNoDirectoryReadAccess'],
    [{ operation: 'usage-report', status: 403, code: 'S2SUnauthorized', message: 'Invalid scope claims/roles.' }, 'scan.usage-report.Reports.Read.All'],
    [{ operation: 'report-settings', status: 403, code: 'Authorization_RequestDenied' }, 'scan.report-settings.ReportSettings.Read.All'],
    [{ operation: 'usage-report', status: 200, finding: 'concealed-names' }, 'scan.concealed-names'],
    [{ operation: 'usage-report', status: 429, code: 'TooManyRequests' }, 'scan.usage-report.throttled'],
    [{ operation: 'sign-ins', status: 429, code: 'UnknownError' }, 'scan.sign-ins.throttled'],
    [{ operation: 'report-settings', status: 401, code: 'InvalidAuthenticationToken' }, 'scan.InvalidAuthenticationToken'],
    [{ operation: 'sign-ins', status: 504, code: 'GatewayTimeout' }, 'scan.server-error'],
  ];
  for (const [answer, ref] of cases) assert.equal(explainScan(answer, ctx)?.ref, ref, JSON.stringify(answer));
  assert.equal(explainScan({ operation: 'usage-report', status: 200 }), undefined, 'a plain 200 needs no explanation');
  assert.equal(explainScan({ operation: 'sign-ins', status: 400, code: 'BadRequest' }), undefined, 'an answer the catalogue does not know is left to the scan');
  const missing = explainScan({ operation: 'sign-ins', status: 403, code: 'Authentication_MSGraphPermissionMissing' }, ctx);
  assert.match(missing?.fix ?? '', /App registrations → app-1 → API permissions .* AuditLog\.Read\.All .* Grant admin consent for contoso\.onmicrosoft\.com/);
  assert.match(explainScan({ operation: 'usage-report', status: 200, finding: 'concealed-names' })?.fix ?? '', /Display concealed user, group, and site names in all reports/);
});

test('the generic SMTP classifier explains Microsoft replies from the catalogue and leaves others as they were', () => {
  const sendAs = classifySmtpReply('554 5.2.252 SendAsDenied; scanner@contoso.com not allowed to send as boss@contoso.com; STOREDRV.Submission.Exception:SendAsDeniedException', 'DATA');
  assert.deepEqual([sendAs.action, sendAs.scope, sendAs.category, sendAs.ref, sendAs.code, sendAs.enhancedCode], ['fail', 'message', 'sender', 'smtp.5.2.252.SendAsDenied', 554, '5.2.252']);
  assert.match(sendAs.fix ?? '', /Add-RecipientPermission/);
  const auth = classifySmtpError({ code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN', response: '535 5.7.139 Authentication unsuccessful, the user credentials were incorrect. [X]' }, false);
  assert.deepEqual([auth.action, auth.scope, auth.ref, auth.code], ['fail', 'message', 'smtp.5.7.139.credentials-incorrect', 535]);
  assert.match(auth.fix ?? '', /Check the route's user/);
  // A temporary refusal Microsoft explains is still retried: 451 4.7.500 pauses the route.
  const busy = classifySmtpReply('451 4.7.500 Server busy. Please try again later from [203.0.113.5]. (S77719)', 'MAIL FROM');
  assert.deepEqual([busy.action, busy.scope, busy.ref], ['retry', 'destination', 'smtp.4.7.500-699']);
  // Another server's reply is explained by the generic entries, with what to do.
  const plain = classifySmtpReply('550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown', 'RCPT TO');
  assert.deepEqual([plain.action, plain.category, plain.ref], ['fail', 'bad-recipient', 'generic.bad-recipient']);
  assert.match(plain.fix ?? '', /Check the recipient address/);
  const otherAuth = classifySmtpError({ code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN', response: '535 5.7.8 Error: authentication failed' }, false, { upstream: 'relay' });
  assert.deepEqual([otherAuth.action, otherAuth.scope, otherAuth.category, otherAuth.ref], ['retry', 'destination', 'auth', 'generic.535.auth-failed'], 'another server\'s sign-in refusal: the route waits');
  assert.match(otherAuth.fix ?? '', /Check upstreams\.relay\.auth/, 'the upstream\'s name is filled in');
});

test('every generic SMTP reply met at an upstream is covered, and every 4xx and 5xx carries what to do', () => {
  const cases: [GenericAnswer, string, 'retry' | 'fail', 'message' | 'destination'][] = [
    [{ command: 'STARTTLS', error: 'ETLS', response: '500 Error: command "STARTTLS" not recognized' }, 'generic.starttls-not-offered', 'retry', 'destination'],
    [{ command: 'STARTTLS', error: 'ETLS', response: '500 5.5.1 Error: unknown command' }, 'generic.starttls-not-offered', 'retry', 'destination'],
    [{ command: 'STARTTLS', error: 'ETLS', response: '502 5.5.2 Error: command not recognized' }, 'generic.starttls-not-offered', 'retry', 'destination'],
    [{ command: 'STARTTLS', response: '454 4.7.0 TLS not available due to local problem' }, 'generic.454.tls-unavailable', 'retry', 'destination'],
    [{ command: 'MAIL FROM', response: '530 5.7.0 Must issue a STARTTLS command first' }, 'generic.530.starttls-first', 'retry', 'destination'],
    [{ command: 'AUTH PLAIN', error: 'EAUTH', response: '500 5.5.1 Error: unknown command' }, 'generic.auth-not-offered', 'retry', 'destination'],
    [{ command: 'AUTH LOGIN', error: 'EAUTH', response: '502 5.5.1 Error: command not implemented' }, 'generic.auth-not-offered', 'retry', 'destination'],
    [{ command: 'AUTH PLAIN', error: 'EAUTH', response: '503 5.5.1 Error: authentication not enabled' }, 'generic.auth-not-offered', 'retry', 'destination'],
    [{ command: 'AUTH CRAM-MD5', error: 'EAUTH', response: '504 5.5.4 Unrecognized authentication type' }, 'generic.504.auth-mechanism', 'retry', 'destination'],
    [{ command: 'AUTH PLAIN', error: 'EAUTH', response: '535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6' }, 'generic.535.auth-failed', 'retry', 'destination'],
    [{ command: 'AUTH LOGIN', error: 'EAUTH', response: '535 Authentication credentials invalid' }, 'generic.535.auth-failed', 'retry', 'destination'],
    [{ command: 'AUTH PLAIN', error: 'EAUTH', response: '534 5.7.9 Authentication mechanism is too weak' }, 'generic.auth-refused', 'retry', 'destination'],
    [{ command: 'MAIL FROM', response: '530 5.7.0 Authentication required' }, 'generic.530.auth-required', 'retry', 'destination'],
    [{ command: 'MAIL FROM', response: '530 5.7.1 Client was not authenticated' }, 'generic.530.auth-required', 'retry', 'destination'],
    [{ command: 'RCPT TO', response: '554 5.7.1 <alice@example.org>: Relay access denied' }, 'generic.relay-denied', 'fail', 'message'],
    [{ command: 'RCPT TO', response: '550 5.7.1 Unable to relay for alice@example.org' }, 'generic.relay-denied', 'fail', 'message'],
    [{ command: 'RCPT TO', response: '553 5.7.1 Relaying denied' }, 'generic.relay-denied', 'fail', 'message'],
    [{ command: 'RCPT TO', response: '550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain' }, 'generic.relay-denied', 'fail', 'message'],
    [{ command: 'MAIL FROM', response: '552 5.3.4 Message size exceeds fixed limit' }, 'generic.552.too-big', 'fail', 'message'],
    [{ command: 'DATA', response: '552 Message size exceeds maximum permitted' }, 'generic.552.too-big', 'fail', 'message'],
    [{ command: 'DATA', response: '554 5.3.4 Message too big for system' }, 'generic.552.too-big', 'fail', 'message'],
    [{ command: 'RCPT TO', response: '550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown' }, 'generic.bad-recipient', 'fail', 'message'],
    [{ command: 'RCPT TO', response: '550 Requested action not taken: mailbox unavailable' }, 'generic.bad-recipient', 'fail', 'message'],
    [{ command: 'MAIL FROM', response: '550 5.7.1 <scanner@contoso.com>: Sender address rejected: Access denied' }, 'generic.policy', 'fail', 'message'],
    [{ command: 'MAIL FROM', response: '553 5.1.8 <scanner@printer.local>: Sender address rejected: Domain not found' }, 'generic.sender-rejected', 'fail', 'message'],
    [{ command: 'MAIL FROM', response: '553 5.7.1 <boss@contoso.com>: Sender address rejected: not owned by user relay@contoso.com' }, 'generic.policy', 'fail', 'message'],
    [{ command: 'DATA', response: '554 5.6.0 Message content rejected' }, 'generic.554.transaction-failed', 'fail', 'message'],
    [{ command: 'DATA', response: '554 Transaction failed' }, 'generic.554.transaction-failed', 'fail', 'message'],
    [{ command: 'DATA', response: '500 5.3.0 Error: command failed' }, 'generic.5xx', 'fail', 'message'],
    [{ command: 'MAIL FROM', response: '421 4.3.2 Service not available, closing transmission channel' }, 'generic.421', 'retry', 'destination'],
    [{ command: 'CONN', response: '421 4.7.0 smtp.contoso.test Error: too many connections from 192.0.2.7' }, 'generic.421', 'retry', 'destination'],
    [{ command: 'DATA', response: '451 4.4.1 No answer from host' }, 'generic.4.4', 'retry', 'destination'],
    [{ command: 'RCPT TO', response: '450 4.2.1 <alice@contoso.com>: Recipient address rejected: Mailbox busy' }, 'generic.450', 'retry', 'message'],
    [{ command: 'RCPT TO', response: '450 4.7.1 <alice@example.org>: Recipient address rejected: Greylisted' }, 'generic.450', 'retry', 'message'],
    [{ command: 'DATA', response: '451 4.3.0 Temporary failure, try again later' }, 'generic.451', 'retry', 'message'],
    [{ command: 'RCPT TO', response: '452 4.5.3 Error: too many recipients' }, 'generic.452', 'retry', 'message'],
    [{ command: 'MAIL FROM', response: '452 4.3.1 Insufficient system storage' }, 'generic.452', 'retry', 'message'],
    [{ command: 'MAIL FROM', response: '450 4.3.0 Error: command failed' }, 'generic.450', 'retry', 'message'],
    [{ command: 'RCPT TO', response: '454 4.7.1 <alice@example.org>: Relay access denied' }, 'generic.4xx', 'retry', 'message'],
    [{ command: 'CONN', error: 'EDNS', response: 'getaddrinfo ENOTFOUND smtp.contoso.test' }, 'generic.dns', 'retry', 'destination'],
    [{ command: 'CONN', error: 'ESOCKET', response: 'connect ECONNREFUSED 127.0.0.1:25' }, 'generic.connect', 'retry', 'destination'],
    [{ command: 'CONN', error: 'ETIMEDOUT', response: 'Greeting never received' }, 'generic.connect', 'retry', 'destination'],
    [{ command: 'CONN', error: 'ESOCKET', response: 'unable to verify the first certificate' }, 'generic.tls-certificate', 'retry', 'destination'],
    [{ command: 'CONN', error: 'ESOCKET', response: "Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: " }, 'generic.tls-certificate', 'retry', 'destination'],
    [{ command: 'CONN', error: 'ESOCKET', response: 'certificate has expired' }, 'generic.tls-certificate', 'retry', 'destination'],
    [{ command: 'CONN', error: 'ESOCKET', response: 'write EPROTO 40B8:error:0A00010B:SSL routines:ssl3_get_record:wrong version number' }, 'generic.tls-handshake', 'retry', 'destination'],
    [{ command: 'DATA', error: 'ECONNECTION', response: 'Connection closed unexpectedly' }, 'generic.connection-lost', 'retry', 'destination'],
    [{ command: 'MAIL FROM', error: 'ESMTPUTF8', response: 'the upstream does not offer SMTPUTF8, which 山田@contoso.com needs' }, 'generic.smtputf8-not-offered', 'fail', 'message'],
  ];
  for (const [answer, ref, action, scope] of cases) {
    const got = explainGeneric(answer, { upstream: 'relay' });
    assert.equal(got?.ref, ref, JSON.stringify(answer));
    assert.deepEqual([got.action, got.scope], [action, scope], ref);
    assert.ok(!/<upstream>/.test(got.fix), `${ref}: the upstream's name is filled in`);
  }
  // Exchange Online's own replies are never taken by a generic entry first.
  assert.equal(classifySmtpReply('530 5.7.57 Client was not authenticated to send anonymous mail during MAIL FROM', 'MAIL FROM').ref, 'smtp.5.7.57');
  assert.equal(classifySmtpReply('550 5.7.64 TenantAttribution; Relay Access Denied', 'RCPT TO').ref, 'smtp.5.7.64.TenantAttribution');
  // Every reply code of classes 4 and 5, at every command: retry or fail, with a ref and what to do.
  for (const command of ['CONN', 'EHLO', 'STARTTLS', 'AUTH PLAIN', 'MAIL FROM', 'RCPT TO', 'DATA']) {
    for (let code = 400; code <= 599; code++) {
      const o = classifySmtpReply(`${code} something went wrong`, command, { upstream: 'relay' });
      // A 5xx is final, except where the route's settings are at fault (TLS, sign-in): then the route waits.
      const routeWaits = code === 530 || code === 535 || (code >= 500 && /^(STARTTLS|AUTH)/.test(command));
      assert.equal(o.action, code < 500 || routeWaits ? 'retry' : 'fail', `${code} at ${command}`);
      if (routeWaits) assert.equal(o.scope, 'destination', `${code} at ${command}`);
      assert.match(o.ref ?? '', /^(generic|smtp)\./, `${code} at ${command} has a ref`);
      assert.ok((o.fix ?? '').length > 20, `${code} at ${command} has what to do`);
    }
  }
  // Failures without a reply carry what to do too.
  for (const e of [{ code: 'ECONNECTION', message: 'Connection closed unexpectedly' }, { code: 'ETIMEDOUT', message: 'Greeting never received' },
    { code: 'EDNS', message: 'getaddrinfo ENOTFOUND x.test' }, { code: 'ESOCKET', message: 'self-signed certificate' }, { code: 'ETLS', message: 'Error initiating TLS - socket hang up' },
    { code: 'EAUTH', message: 'Missing credentials for "PLAIN"', command: 'API' }, { code: 'EWHATEVER', message: 'something new' }]) {
    const o = classifySmtpError(e, false, { upstream: 'relay' });
    assert.ok((o.fix ?? '').length > 20, `${e.code}: ${JSON.stringify(o)}`);
  }
});
