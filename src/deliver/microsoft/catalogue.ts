/**
 * The Microsoft 365 error catalogue: Entra sign-in errors, Graph errors and
 * Exchange Online SMTP replies, and the replies of any SMTP server, each
 * mapped to retry or fail, a one-sentence explanation and the concrete fix.
 * The entries are data (catalogue-entra.ts, catalogue-graph.ts,
 * catalogue-smtp.ts, catalogue-scan.ts, catalogue-generic.ts), checked in order, first match wins;
 * docs/errors.md lists every entry by its ref and a test keeps both complete.
 */
import type { DeliveryOutcome } from '../../core/outcome.js';
import type { TokenError } from '../../identity/entra/token-provider.js';
import { ENTRA_ENTRIES, ENTRA_NETWORK_ENTRIES } from './catalogue-entra.js';
import { GRAPH_ENTRIES } from './catalogue-graph.js';
import { SMTP_ENTRIES } from './catalogue-smtp.js';
import { SCAN_ENTRIES } from './catalogue-scan.js';
import { GENERIC_ENTRIES } from './catalogue-generic.js';
import type {
  CatalogueEntry, CatalogueExplained, EntraEntry, EntraExample, Explained, GenericAnswer, GenericEntry, GraphEntry, GraphOperation, ScanEntry, ScanFinding, ScanOperation, SmtpEntry,
} from './catalogue-types.js';

export type {
  CatalogueEntry, CatalogueSource, EntraEntry, EntraExample, EntraMatch, Explained, GenericAnswer, GenericEntry, GenericMatch, GraphEntry, GraphExample, GraphMatch, GraphOperation,
  ScanEntry, ScanExample, ScanFinding, ScanMatch, ScanOperation, SmtpEntry,
} from './catalogue-types.js';

export const CATALOGUE: readonly CatalogueEntry[] = [...ENTRA_ENTRIES, ...ENTRA_NETWORK_ENTRIES, ...GRAPH_ENTRIES, ...SMTP_ENTRIES, ...SCAN_ENTRIES, ...GENERIC_ENTRIES];

/** Values that replace the `<mailbox>`, `<appId>`, `<tenant>` and `<upstream>` placeholders of a fix. */
export interface PlaceholderValues {
  mailbox?: string | undefined;
  appId?: string | undefined;
  tenant?: string | undefined;
  upstream?: string | undefined;
}

/** Fills the placeholders that have a value; the others stay for the reader to fill. */
export function fillPlaceholders(text: string, values: PlaceholderValues = {}): string {
  return text.replace(/<(mailbox|appId|tenant|upstream)>/g, (whole, name: keyof PlaceholderValues) => values[name] ?? whole);
}

/** The entry's explanation with the placeholders filled, in English and in Japanese. */
function filled(entry: CatalogueEntry, ctx: PlaceholderValues | undefined): CatalogueExplained {
  const { ref, action, scope, category, hint, fix, ja, retryAfterMs } = entry;
  return {
    ref, action, scope, category,
    hint: fillPlaceholders(hint, ctx),
    fix: fillPlaceholders(fix, ctx),
    ja: { hint: fillPlaceholders(ja.hint, ctx), fix: fillPlaceholders(ja.fix, ctx) },
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}

// ---- Graph ----

/** Placeholder values plus which Graph call answered (the draft path needs Mail.ReadWrite). */
export interface GraphContext extends PlaceholderValues {
  operation?: GraphOperation | undefined;
}

export function matchesGraph(entry: GraphEntry, status: number, code: string | undefined, message: string | undefined, operation?: GraphOperation): boolean {
  const m = entry.match;
  if (m.operation !== undefined && m.operation !== operation) return false;
  if (m.status !== undefined && !(Array.isArray(m.status) ? m.status.includes(status) : m.status === status)) return false;
  if (m.code !== undefined && !(typeof m.code === 'string' ? (code ?? '').toLowerCase() === m.code.toLowerCase() : m.code.test(code ?? ''))) return false;
  if (m.message !== undefined && !m.message.test(message ?? '')) return false;
  return true;
}

/** A Graph error answer (status, error.code, error.message) explained, or undefined when the catalogue does not know it. */
export function explainGraph(status: number, code: string | undefined, message: string | undefined, ctx?: GraphContext): Explained | undefined {
  const entry = GRAPH_ENTRIES.find((e) => matchesGraph(e, status, code, message, ctx?.operation));
  return entry ? filled(entry, ctx) : undefined;
}

// ---- the migration scan ----

/** What the scan got from one of its Graph calls: an error answer, or a finding in a 200. */
export interface ScanAnswer {
  operation: ScanOperation;
  status: number;
  code?: string | undefined;
  message?: string | undefined;
  finding?: ScanFinding | undefined;
}

export function matchesScan(entry: ScanEntry, a: ScanAnswer): boolean {
  const m = entry.match;
  if (m.operation !== undefined && m.operation !== a.operation) return false;
  if (m.finding !== undefined ? m.finding !== a.finding : a.finding !== undefined) return false;
  if (m.status !== undefined && !(Array.isArray(m.status) ? m.status.includes(a.status) : m.status === a.status)) return false;
  if (m.code !== undefined && !(typeof m.code === 'string' ? (a.code ?? '').toLowerCase() === m.code.toLowerCase() : m.code.test(a.code ?? ''))) return false;
  if (m.message !== undefined && !m.message.test(a.message ?? '')) return false;
  return true;
}

/** The scan's answer explained (placeholders filled), or undefined when the catalogue does not know it. */
export function explainScan(a: ScanAnswer, ctx?: PlaceholderValues): Explained | undefined {
  const entry = SCAN_ENTRIES.find((e) => matchesScan(e, a));
  return entry ? filled(entry, ctx) : undefined;
}

// ---- SMTP ----

/** Continuation lines ("550-5.7.1 a\r\n550 5.7.1 b") joined into one line of text. */
export function flattenReply(response: string): string {
  return response
    .split(/\r?\n/)
    .map((line, i) => (i === 0 ? line : line.replace(/^\d{3}[ -](?:[245]\.\d{1,3}\.\d{1,3} )?/, '')))
    .join(' ')
    .trim();
}

export function matchesSmtp(entry: SmtpEntry, response: string): boolean {
  return entry.match.test(flattenReply(response));
}

/** An SMTP reply from Exchange Online (full text, any continuation lines included) explained, or undefined. */
export function explainSmtp(response: string, ctx?: PlaceholderValues): Explained | undefined {
  const text = flattenReply(response);
  const entry = SMTP_ENTRIES.find((e) => e.match.test(text));
  return entry ? filled(entry, ctx) : undefined;
}

/** The reply code of an answer (its first three digits), if it has one. */
function replyCode(a: GenericAnswer): string | undefined {
  return /^([2-5]\d\d)(?:[ -]|$)/.exec(a.response ?? '')?.[1];
}

export function matchesGeneric(entry: GenericEntry, a: GenericAnswer): boolean {
  const m = entry.match;
  const code = replyCode(a);
  if (m.noReply && code !== undefined) return false;
  if (m.code !== undefined && (code === undefined || !m.code.test(code))) return false;
  if (m.command !== undefined && !m.command.test((a.command ?? '').trim().toUpperCase())) return false;
  if (m.error !== undefined && !m.error.test(a.error ?? '')) return false;
  if (m.text !== undefined && !m.text.test(flattenReply(a.response ?? ''))) return false;
  return true;
}

/**
 * What any SMTP server's reply (or a failure without a reply) means, after
 * the Exchange Online entries had no match: every 4xx and 5xx is explained
 * (the last entries are catch-alls), so a refusal always carries a fix.
 */
export function explainGeneric(a: GenericAnswer, ctx?: PlaceholderValues): Explained | undefined {
  const entry = GENERIC_ENTRIES.find((e) => matchesGeneric(e, a));
  return entry ? filled(entry, ctx) : undefined;
}

// ---- Entra ----

export function matchesEntra(entry: EntraEntry, d: EntraExample): boolean {
  const m = entry.match;
  if (m.reader !== undefined && m.reader !== (d.reader === true)) return false;
  if (m.notSignedIn !== undefined && m.notSignedIn !== (d.notSignedIn === true)) return false;
  if (m.aadsts !== undefined && (d.aadsts === undefined || !m.aadsts.includes(d.aadsts))) return false;
  if (m.error !== undefined && d.error !== m.error) return false;
  if (m.networkCode !== undefined && !m.networkCode.test(d.networkCode ?? '')) return false;
  if (m.status !== undefined && (d.status === undefined || !m.status.includes(d.status))) return false;
  return true;
}

/** The AADSTS number from the details, or from the description ("AADSTS7000215: ..."). */
function aadstsOf(d: EntraExample): number | undefined {
  if (d.aadsts !== undefined) return d.aadsts;
  const m = /\bAADSTS(\d{4,8})\b/.exec(d.description ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The explanation of a token error, or undefined when the catalogue does not know it. */
export function explainEntra(details: EntraExample, ctx?: PlaceholderValues): Explained | undefined {
  const aadsts = aadstsOf(details);
  const d = aadsts !== undefined ? { ...details, aadsts } : details;
  const entry = [...ENTRA_ENTRIES, ...ENTRA_NETWORK_ENTRIES].find((e) => matchesEntra(e, d));
  return entry ? filled(entry, ctx) : undefined;
}

/**
 * Always an outcome: a catalogued error with its fix, or a generic one that
 * carries Entra's own description (it holds no secret). Sign-in problems are
 * the route's, so messages wait (retry, scope destination) while they are fixed.
 */
export function explainTokenError(err: TokenError, ctx?: PlaceholderValues & { reader?: boolean }): DeliveryOutcome {
  const d: EntraExample = ctx?.reader ? { ...err.details, reader: true } : err.details;
  const aadsts = aadstsOf(d);
  const response = d.description ?? (d.networkCode ? `${d.networkCode}: ${err.message}` : err.message);
  const base: DeliveryOutcome = {
    action: 'retry', scope: 'destination', category: 'auth', response,
    ...(d.status !== undefined ? { code: d.status } : {}),
  };
  const e = explainEntra(d, ctx);
  if (e) return { ...base, action: e.action, scope: e.scope, category: e.category, hint: e.hint, fix: e.fix, ja: e.ja, ref: e.ref, ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}) };
  const known = aadsts !== undefined ? `AADSTS${aadsts}` : d.error ?? (d.status !== undefined ? `HTTP ${d.status}` : 'error');
  const said = firstSentence(d.description ?? err.message);
  return {
    ...base,
    hint: `Entra ID refused to issue a token (${known}): ${said} Messages wait in the queue until sign-in works.`,
    fix: fillPlaceholders(aadsts !== undefined
      ? `Look up ${known} at https://login.microsoftonline.com/error?code=${aadsts} and check the route's tenant, client ID and credential; "authrelay send-test --route <upstream>" shows each step.`
      : 'Check the route\'s tenant, client ID and credential; "authrelay send-test --route <upstream>" shows each step.', ctx),
    ja: {
      hint: `Entra ID がトークンの発行を拒否しました (${known}):「${said}」サインインできるようになるまで、メッセージはキューで待機します。`,
      fix: fillPlaceholders(aadsts !== undefined
        ? `https://login.microsoftonline.com/error?code=${aadsts} で ${known} の内容を確認し、ルートのテナント、クライアント ID、資格情報を確認してください。"authrelay send-test --route <upstream>" で各手順を確認できます。`
        : 'ルートのテナント、クライアント ID、資格情報を確認してください。"authrelay send-test --route <upstream>" で各手順を確認できます。', ctx),
    },
    ref: aadsts !== undefined ? 'entra.unknown-aadsts' : 'entra.unknown',
  };
}

function firstSentence(text: string): string {
  const line = text.split(/\r?\n/)[0] ?? text;
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** A DeliveryOutcome from an explanation and the upstream's reply as received. */
export function outcomeFrom(e: Explained, reply: { code?: number; enhancedCode?: string; response?: string; retryAfterMs?: number }): DeliveryOutcome {
  const wait = reply.retryAfterMs ?? e.retryAfterMs;
  return {
    action: e.action, scope: e.scope, category: e.category, hint: e.hint, fix: e.fix, ja: e.ja, ref: e.ref,
    ...(reply.code !== undefined ? { code: reply.code } : {}),
    ...(reply.enhancedCode ? { enhancedCode: reply.enhancedCode } : {}),
    ...(reply.response !== undefined ? { response: reply.response } : {}),
    ...(wait !== undefined && e.action === 'retry' ? { retryAfterMs: wait } : {}),
  };
}
