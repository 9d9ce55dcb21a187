/**
 * The catalogue speaks Japanese as completely as English: every entry has a
 * Japanese hint and fix (and effect, for the scan), with the same
 * placeholders; what stays as it is in both languages (PowerShell lines,
 * commands, URLs, codes, setting names) is kept exactly; the Japanese reads
 * as Japanese; and the explain functions fill the placeholders in both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CATALOGUE, explainEntra, explainGeneric, explainGraph, explainScan, explainSmtp, outcomeFrom, type CatalogueEntry, type Explained, type PlaceholderValues,
} from '../../src/deliver/microsoft/catalogue.js';
import { notJapanese, untranslatedEnglish } from '../helpers/japanese.js';

type Field = 'hint' | 'fix' | 'effect';

/** Each English text of an entry with its Japanese counterpart (undefined when missing). */
function pairs(e: CatalogueEntry): { field: Field; en: string; ja: string | undefined }[] {
  const out: { field: Field; en: string; ja: string | undefined }[] = [
    { field: 'hint', en: e.hint, ja: e.ja?.hint },
    { field: 'fix', en: e.fix, ja: e.ja?.fix },
  ];
  if (e.source === 'scan') out.push({ field: 'effect', en: e.effect, ja: e.ja?.effect });
  return out;
}

const PLACEHOLDER = /<(mailbox|appId|tenant|upstream)>/g;

function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[0]))].sort();
}

const VERBS = 'Get|Set|New|Add|Remove|Enable|Disable|Connect|Test|Grant|Revoke|Update|Install|Import|Export|Start|Stop|Restart';
/** A parameter's value: quoted, a <placeholder>, a $variable, or one token (a sentence's full stop is not part of it). */
const VALUE = String.raw`"[^"]*"|'[^']*'|<[^<>]+>|[^\s;,()<>"']*[^\s;,()<>"'.]`;
/** A value right after the cmdlet's name (Get-Mailbox <mailbox>): only the kinds that cannot be an English word. */
const POSITIONAL = String.raw`"[^"]*"|<[^<>]+>|\$\w+|[\w.+-]+@[\w.-]+\w`;
const POWERSHELL = new RegExp(String.raw`\b(?:${VERBS})-[A-Za-z]+(?:\s+(?:${POSITIONAL}))?(?:\s+-[A-Za-z]+(?::\S+)?(?:\s+(?:${VALUE}))?)*`, 'g');

/** PowerShell lines (Verb-Noun with its parameters) of a text. */
function powerShellLines(text: string): string[] {
  return [...text.matchAll(POWERSHELL)].map((m) => m[0]);
}

/**
 * What must appear unchanged in the Japanese: `backticked` text, PowerShell
 * lines, authrelay commands (the command and its subcommand, with an
 * argument in <>), URLs, reply and AADSTS codes, and names with a dot or in
 * camelCase (settings such as upstreams.x.y or recipientsPerDay, permissions
 * such as Mail.Send, hosts).
 */
function keptAsIs(text: string): string[] {
  const kept = [
    ...[...text.matchAll(/`[^`]+`/g)].map((m) => m[0]),
    ...powerShellLines(text),
    ...[...text.matchAll(/\bauthrelay(?: [a-z][a-z-]*){1,2}(?: <[^<>]+>)?/g)].map((m) => m[0]),
    ...[...text.matchAll(/https?:\/\/[^\s)"'`]+/g)].map((m) => m[0].replace(/[.,;:]+$/, '')),
    ...[...text.matchAll(/\b[245]\.\d{1,3}\.\d{1,3}\b|\bAADSTS\d+\b/g)].map((m) => m[0]),
    ...[...text.matchAll(/\b[a-z]+[A-Z][A-Za-z0-9]*\b/g)].map((m) => m[0]),
    ...[...text.matchAll(/\b[A-Za-z][\w-]*(?:\.[A-Za-z][\w-]*)+\b/g)].map((m) => m[0]).filter((w) => !/^(?:e\.g|i\.e)$/i.test(w)),
  ];
  return [...new Set(kept)];
}

test('the helpers find what stays as it is: PowerShell lines with their parameters, commands, URLs, settings', () => {
  assert.deepEqual(powerShellLines('Run: Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false (this overrides the tenant).'),
    ['Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false']);
  assert.deepEqual(powerShellLines('(With RBAC: New-ManagementRoleAssignment -Role "Application Mail.Send" -App <appId> -CustomResourceScope <scope name>.)'),
    ['New-ManagementRoleAssignment -Role "Application Mail.Send" -App <appId> -CustomResourceScope <scope name>']);
  assert.deepEqual(powerShellLines('(Microsoft 365 admin center → Users, or Get-Mailbox <mailbox>). Then Add-DistributionGroupMember to fix it.'),
    ['Get-Mailbox <mailbox>', 'Add-DistributionGroupMember']);
  assert.deepEqual(powerShellLines('raise its quota: Set-Mailbox -Identity <mailbox> -ProhibitSendQuota 99GB -ProhibitSendReceiveQuota 100GB.'),
    ['Set-Mailbox -Identity <mailbox> -ProhibitSendQuota 99GB -ProhibitSendReceiveQuota 100GB']);
  const kept = keptAsIs('Look at https://aka.ms/smtp_auth_disabled; set the route\'s recipientsPerDay or tls.maxVersion, then: authrelay queue retry <queue id>. Code 5.7.139, `authrelay doctor`.');
  for (const k of ['https://aka.ms/smtp_auth_disabled', 'recipientsPerDay', 'tls.maxVersion', 'authrelay queue retry <queue id>', '5.7.139', '`authrelay doctor`']) {
    assert.ok(kept.includes(k), `${k} in ${JSON.stringify(kept)}`);
  }
});

test('every entry has a Japanese hint and fix (and effect, for the scan)', () => {
  const missing: string[] = [];
  for (const e of CATALOGUE) {
    for (const { field, ja } of pairs(e)) {
      if (!ja || ja.trim().length < 10) missing.push(`${e.ref} (${field})`);
    }
  }
  assert.deepEqual(missing, [], `entries without Japanese: ${missing.join(', ')}`);
});

test('the Japanese uses the same placeholders as the English, text by text', () => {
  const wrong: string[] = [];
  for (const e of CATALOGUE) {
    for (const { field, en, ja } of pairs(e)) {
      if (ja === undefined) continue;
      const want = placeholders(en);
      const got = placeholders(ja);
      if (want.join() !== got.join()) wrong.push(`${e.ref} ${field}: English ${want.join(' ') || 'none'}, Japanese ${got.join(' ') || 'none'}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('PowerShell lines, commands, URLs, codes and setting names of the English appear unchanged in the Japanese', () => {
  const lost: string[] = [];
  for (const e of CATALOGUE) {
    for (const { field, en, ja } of pairs(e)) {
      if (ja === undefined) continue;
      for (const k of keptAsIs(en)) if (!ja.includes(k)) lost.push(`${e.ref} ${field}: ${k}`);
    }
  }
  assert.deepEqual(lost, []);
});

test('the Japanese reads as Japanese: no English left untranslated', () => {
  const english: string[] = [];
  for (const e of CATALOGUE) {
    for (const { field, ja } of pairs(e)) {
      if (ja === undefined) continue;
      const runs = untranslatedEnglish(ja);
      if (runs.length) english.push(`${e.ref} ${field}: ${runs.map((r) => JSON.stringify(r)).join(', ')}`);
      const why = notJapanese(ja);
      if (why !== undefined) english.push(`${e.ref} ${field}: ${why}`);
    }
  }
  assert.deepEqual([...new Set(english)], []);
});

/** The entry's example explained by its own source's function, with the given placeholder values. */
function explainExample(e: CatalogueEntry, ctx: PlaceholderValues): Explained | undefined {
  switch (e.source) {
    case 'smtp': return explainSmtp(e.example, ctx);
    case 'generic': return explainGeneric(e.example, ctx);
    case 'graph': return explainGraph(e.example.status, e.example.code, e.example.message, { ...ctx, operation: e.example.operation });
    case 'scan': return explainScan(e.example, ctx);
    default: return explainEntra(e.example, ctx);
  }
}

test('the explain functions fill the placeholders in both languages', () => {
  const ctx = { mailbox: 'scanner@contoso.com', appId: 'app-1', tenant: 'contoso.onmicrosoft.com', upstream: 'm365' };
  const value: Record<string, string> = { '<mailbox>': ctx.mailbox, '<appId>': ctx.appId, '<tenant>': ctx.tenant, '<upstream>': ctx.upstream };
  let checked = 0;
  for (const e of CATALOGUE) {
    const got = explainExample(e, ctx);
    assert.equal(got?.ref, e.ref, `example of ${e.ref}`);
    if (!e.ja) continue;
    assert.ok(got.ja, `${e.ref}: the explanation carries the Japanese`);
    for (const [field, en, ja, filledEn, filledJa] of [['hint', e.hint, e.ja.hint, got.hint, got.ja.hint], ['fix', e.fix, e.ja.fix, got.fix, got.ja.fix]] as const) {
      assert.doesNotMatch(filledEn, PLACEHOLDER, `${e.ref} ${field} (English) is filled`);
      assert.doesNotMatch(filledJa, PLACEHOLDER, `${e.ref} ${field} (Japanese) is filled`);
      for (const p of placeholders(en)) assert.ok(filledEn.includes(value[p]!), `${e.ref} ${field} (English) has ${p} filled`);
      for (const p of placeholders(ja)) assert.ok(filledJa.includes(value[p]!), `${e.ref} ${field} (Japanese) has ${p} filled`);
      checked += placeholders(ja).length;
    }
  }
  assert.ok(checked > 50, `only ${checked} placeholders checked`);
  // Values left out stay for the reader, in both languages alike.
  const partial = explainGraph(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.', { appId: 'app-1' });
  assert.match(partial?.fix ?? '', /App registrations → app-1 → .*Grant admin consent for <tenant>/);
  assert.match(partial?.ja?.fix ?? '', /\[アプリの登録\] → app-1 → .*\[<tenant> に管理者の同意を与えます\]/);
  assert.match(partial?.ja?.fix ?? '', /New-ManagementRoleAssignment -Role "Application Mail\.Send" -App app-1 -CustomResourceScope <scope name>/);
  // An SMTP reply and its outcome carry the Japanese with the mailbox filled.
  const smtp = explainSmtp('535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information.', { mailbox: 'scanner@contoso.com' });
  assert.equal(smtp?.ref, 'smtp.5.7.139.mailbox-disabled');
  assert.match(smtp.ja?.hint ?? '', /メールボックス scanner@contoso\.com で SMTP AUTH が無効/);
  assert.match(smtp.ja?.fix ?? '', /Set-CASMailbox -Identity scanner@contoso\.com -SmtpClientAuthenticationDisabled \$false/);
  assert.match(smtp.ja?.fix ?? '', /\[メール アプリを管理する\] → \[認証済み SMTP\]/);
  const outcome = outcomeFrom(smtp, { code: 535, enhancedCode: '5.7.139' });
  assert.deepEqual(outcome.ja, smtp.ja);
});
