/**
 * The texts of doctor, init (and the console's setup wizard), send-test and
 * the command line's errors in both languages: every text has English and
 * Japanese with the same {placeholders}; the Japanese reads as Japanese (no
 * English sentence left beyond product names, settings, codes and
 * commands); the English has no Japanese in it. What the wizard builds from
 * them (the steps of every route, a probe's lines) is Japanese line by line
 * when asked for in Japanese.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placeholdersOf, type Text } from '../../src/core/i18n.js';
import { DOCTOR_TEXT } from '../../src/doctor/texts.js';
import { DIRECT_SEND_TEXT, directSendWarningTexts } from '../../src/deliver/direct-send/warnings-text.js';
import { SEND_TEST_TEXT } from '../../src/deliver/send-test-text.js';
import { WIZARD_TEXT } from '../../src/config/wizard/texts.js';
import { INIT_TEXT } from '../../src/cli/init/texts.js';
import { CLI_TEXT } from '../../src/cli/texts.js';
import { MIGRATE_TEXT, OAUTH_STATUS_TEXT, STORE_TEXT } from '../../src/cli/report-texts.js';
import { CONFIG_COMMENT_TEXT } from '../../src/config/wizard/document-texts.js';
import { CONFIG_PROBLEM_TEXT } from '../../src/config/problem-texts.js';
import { setupSteps, neededPermissions } from '../../src/config/wizard/steps.js';
import { ROUTES, type InitAnswers, type RouteKind } from '../../src/config/wizard/answers.js';
import { checkSettings, describeProbe, proposeSettings } from '../../src/config/wizard/smtp-probe-proposal.js';
import type { SmtpProbe } from '../../src/config/wizard/smtp-probe.js';
import { notJapanese } from '../helpers/japanese.js';

export const TABLES: Record<string, Readonly<Record<string, Text>>> = {
  doctor: DOCTOR_TEXT, 'direct send': DIRECT_SEND_TEXT, 'send-test': SEND_TEST_TEXT, wizard: WIZARD_TEXT, init: INIT_TEXT, cli: CLI_TEXT,
  'store check': STORE_TEXT, 'oauth status': OAUTH_STATUS_TEXT, migrate: MIGRATE_TEXT, 'config comments': CONFIG_COMMENT_TEXT, 'config problems': CONFIG_PROBLEM_TEXT,
};

const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;
/** English texts that show a Japanese example on purpose (an address such as 山田@). */
const JAPANESE_EXAMPLES = new Set(['wizard noteNoSmtputf8']);

test('every doctor, init, send-test and CLI text has both languages with the same placeholders; the Japanese is Japanese', () => {
  const counts: Record<string, number> = {};
  for (const [table, texts] of Object.entries(TABLES)) {
    for (const [key, text] of Object.entries(texts)) {
      counts[table] = (counts[table] ?? 0) + 1;
      const where = `${table} ${key}`;
      assert.ok(text.en.trim() && text.ja.trim(), `${where}: both languages`);
      assert.deepEqual(placeholdersOf(text.ja), placeholdersOf(text.en), `${where}: the same placeholders`);
      assert.equal(notJapanese(text.ja), undefined, `${where}: ${JSON.stringify(text.ja)}`);
      if (!JAPANESE_EXAMPLES.has(where)) assert.ok(!JAPANESE.test(text.en), `${where}: no Japanese in the English`);
    }
  }
  assert.ok(counts.doctor! >= 150, `doctor: ${counts.doctor}`);
  assert.ok(counts.wizard! >= 80 && counts.init! >= 80, `wizard ${counts.wizard}, init ${counts.init}`);
  assert.ok(counts['store check']! >= 15 && counts['oauth status']! >= 12 && counts.migrate! >= 35, JSON.stringify(counts));
  assert.ok(counts['config comments']! >= 20 && counts['config problems']! >= 50, JSON.stringify(counts));
});

test('Microsoft\'s screens are named as Microsoft\'s Japanese admin centres name them', () => {
  const ja = Object.values(TABLES).flatMap((t) => Object.values(t).map((x) => x.ja)).join('\n');
  for (const name of ['Microsoft Entra 管理センター', '[アプリの登録]', '[証明書とシークレット]', '[API のアクセス許可]', '[アクセス許可の追加]', '[アプリケーションの許可]',
    '[委任されたアクセス許可]', '管理者の同意を与えます', '[パブリック クライアント フローを許可する]', 'Exchange 管理センター', '[メール フロー]', '[コネクタ]',
    'Microsoft 365 管理センター', '[アクティブなユーザー]', '[メール アプリを管理する]', '[認証済み SMTP]', '[セキュリティの既定値群]', '[送信済みアイテム]']) {
    assert.ok(ja.includes(name), name);
  }
  for (const wrong of ['App registrations', 'API permissions', 'Grant admin consent', 'Certificates & secrets', 'Mail flow']) assert.ok(!ja.includes(wrong), wrong);
});

const ANSWERS: Record<RouteKind, InitAnswers> = {
  graph: { route: 'graph', entra: { cloud: 'global', tenant: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', credential: { kind: 'secret', ref: '${S}', value: 'x' }, endpoints: {} }, mailbox: 'scanner@contoso.com', listeners: { host: '0.0.0.0' } },
  'smtp-oauth': { route: 'smtp-oauth', entra: { cloud: 'global', tenant: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', credential: { kind: 'certificate', cert: 'a', key: 'b' }, endpoints: {} }, mailbox: 'scanner@contoso.com', listeners: { host: '0.0.0.0' } },
  'smtp-oauth-delegated': { route: 'smtp-oauth-delegated', entra: { cloud: 'global', tenant: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', credential: { kind: 'delegated' }, endpoints: {} }, mailbox: 'scanner@contoso.com', listeners: { host: '0.0.0.0' } },
  'direct-send': { route: 'direct-send', directSend: { domain: 'contoso.com', dnsServers: [] }, listeners: { host: '0.0.0.0' } },
  smtp: { route: 'smtp', relay: { host: 'contoso-com.mail.protection.outlook.com', port: 25, tls: 'starttls' }, listeners: { host: '0.0.0.0' } },
  hold: { route: 'hold', listeners: { host: '0.0.0.0' } },
  readers: {
    route: 'readers', entra: { cloud: 'global', tenant: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', credential: { kind: 'secret', ref: '${S}', value: 'x' }, endpoints: {} },
    readers: { mailboxes: ['invoices@contoso.com', 'fax@contoso.com'], imapPort: 1993, pop3Port: 1995, tls: 'implicit', legacy: false }, listeners: { host: '0.0.0.0' },
  },
};

test('the steps of every route, in Japanese: the same number as in English, PowerShell lines unchanged, every paragraph Japanese', () => {
  for (const r of ROUTES) {
    assert.equal(notJapanese(r.text.ja), undefined, r.value);
    const en = setupSteps(ANSWERS[r.value], 'en');
    const ja = setupSteps(ANSWERS[r.value], 'ja');
    assert.equal(ja.length, en.length, r.value);
    for (const [i, step] of ja.entries()) {
      assert.equal(notJapanese(step), undefined, `${r.value} step ${i + 1}: ${step}`);
      // Commands (indented lines) are the same in both languages.
      const commands = (s: string) => s.split('\n').filter((l) => l.startsWith('    '));
      assert.deepEqual(commands(step), commands(en[i]!), `${r.value} step ${i + 1}`);
    }
  }
  assert.equal(neededPermissions('graph', 'ja').optional[0]!.why, WIZARD_TEXT.whyReadWrite.ja);
  // Legacy readers: the Exchange Online API's application permissions and the PowerShell lines, in both languages.
  const readers = setupSteps(ANSWERS.readers, 'ja').join('\n');
  for (const name of ['[所属する組織で使用している API]', '[Office 365 Exchange Online]', '[アプリケーションの許可]', '[contoso.onmicrosoft.com に管理者の同意を与えます]', '[エンタープライズ アプリケーション]']) {
    assert.ok(readers.includes(name), name);
  }
  assert.match(readers, /IMAP\.AccessAsApp、POP\.AccessAsApp/);
  assert.match(readers, /New-ServicePrincipal -AppId 11111111-2222-3333-4444-555555555555 -ObjectId <enterprise app object id>/);
  assert.match(readers, /Add-MailboxPermission -Identity fax@contoso\.com -User <enterprise app object id> -AccessRights FullAccess/);
  for (const w of directSendWarningTexts({ domain: 'contoso.com', requireTls: false, mx: 'mx.example.net' })) assert.equal(notJapanese(w.ja), undefined, w.ja);
});

test('a probe of another relay, described in Japanese', () => {
  const base = {
    host: 'relay.example.net', port: 587, connected: 'plain', greeting: '220 relay.example.net ESMTP',
    ehlo: { lines: ['PIPELINING', 'STARTTLS'], auth: [], smtpUtf8: false, eightBitMime: true, size: 36_700_160 },
    starttls: {
      ok: true, version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', ehlo: { lines: ['AUTH LOGIN PLAIN'], auth: ['LOGIN', 'PLAIN'], smtpUtf8: false, eightBitMime: true },
      certificate: { subject: 'CN=relay.example.net', issuer: 'CN=Example CA', validFrom: '2026-01-01T00:00:00Z', validTo: '2027-01-01T00:00:00Z', names: ['other.example.net'], trusted: false, trustError: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', hostnameMatch: false, expired: false, selfSigned: false },
    },
  } as unknown as Omit<SmtpProbe, 'proposal'>;
  const probe = { ...base, proposal: proposeSettings(base as SmtpProbe) } as SmtpProbe;
  assert.equal(probe.proposal.problem, 'untrusted');
  assert.equal(probe.proposal.detail, probe.proposal.text?.detail.en, 'the English detail as the API gave it');
  const ja = describeProbe(probe, 'ja');
  assert.equal(ja.length, describeProbe(probe, 'en').length);
  assert.ok(ja.some((l) => l.includes('対処:')), ja.join('\n'));
  for (const l of ja) if (/[a-z]{4,} [a-z]{4,} [a-z]{4,}/.test(l)) assert.equal(notJapanese(l), undefined, l);
  const settings = checkSettings(probe, { tls: 'implicit' }, 'ja');
  assert.equal(settings.ok, false);
  assert.match(settings.lines[0]!, /tls: implicit は relay\.example\.net:587 では使えません/);
});
