/**
 * The shapes of the Microsoft 365 error catalogue: what an entry matches, the
 * example reply it is tested with, and the explanation it gives.
 */
import type { TokenErrorDetails } from '../../identity/entra/token-provider.js';

export type CatalogueSource = 'entra' | 'graph' | 'smtp' | 'scan' | 'generic';

export interface Explained {
  /** The entry's name in docs/errors.md, e.g. "entra.AADSTS7000215", "graph.ErrorSendAsDenied", "smtp.5.7.139.tenant-disabled". */
  ref: string;
  action: 'retry' | 'fail';
  scope: 'message' | 'destination';
  category: string;
  /** What it means, in one sentence a non-expert understands. */
  hint: string;
  /** What to do: the permission to grant, the command to run, the setting to change. */
  fix: string;
  /**
   * hint and fix in Japanese, with the same <placeholders>; Microsoft's screens
   * and settings named as Microsoft's Japanese UI names them, commands as they are.
   * Every catalogue entry has it (EntryBase) and the explain functions always
   * fill it; it is optional here only for explanations built outside the
   * catalogue (src/doctor/microsoft.ts passes one without it).
   */
  ja: { hint: string; fix: string };
  /** wait before retrying, e.g. quota until tomorrow */
  retryAfterMs?: number;
}

/**
 * The fields of a TokenError's details the catalogue reads, and whether the
 * token was the delegated sign-in that opens mailboxes over IMAP/POP (an
 * exchange-mailbox upstream; set by whoever explains it, not by Entra).
 */
export type EntraExample = TokenErrorDetails & { reader?: boolean };

/** Every given field must match. */
export interface EntraMatch {
  /** Only for the delegated sign-in that opens mailboxes over IMAP/POP (true). */
  reader?: boolean;
  aadsts?: number[];
  error?: string;
  status?: number[];
  networkCode?: RegExp;
  notSignedIn?: boolean;
}

/** Which Graph call answered: sendMail, the draft path (create, attachments, upload), or sending a draft. */
export type GraphOperation = 'sendMail' | 'draft' | 'send-draft';

export interface GraphMatch {
  status?: number | number[];
  operation?: GraphOperation;
  /** error.code: exact (case-insensitive) or a pattern. */
  code?: string | RegExp;
  /** error.message pattern. */
  message?: RegExp;
}

export interface GraphExample {
  status: number;
  operation?: GraphOperation;
  code?: string;
  message?: string;
}

/** An explanation from the catalogue: always in both languages (test/unit/catalogue-ja.test.ts checks the Japanese). */
export type CatalogueExplained = Explained & { ja: { hint: string; fix: string } };

interface EntryBase extends CatalogueExplained {
  /** Which answer it explains: the sign-in (Entra), Graph, an Exchange Online SMTP reply, the migration scan, or any SMTP server's reply. */
  source: CatalogueSource;
}

export interface EntraEntry extends EntryBase {
  source: 'entra';
  match: EntraMatch;
  /** An example error exactly as Entra sends it, used by the test. */
  example: EntraExample;
}

export interface GraphEntry extends EntryBase {
  source: 'graph';
  match: GraphMatch;
  /** An example answer exactly as Graph sends it, used by the test. */
  example: GraphExample;
}

export interface SmtpEntry extends EntryBase {
  source: 'smtp';
  /** Tested against the whole reply, continuation lines joined. */
  match: RegExp;
  /** An example reply exactly as Exchange Online sends it, used by the test. */
  example: string;
}

/** The three Graph calls of the migration scan (src/migration/): the email apps usage report, the sign-in logs, the report privacy setting. */
export type ScanOperation = 'usage-report' | 'sign-ins' | 'report-settings';

/** What the scan found in an answer that was not an error (a 200 whose report names are concealed). */
export type ScanFinding = 'concealed-names';

export interface ScanMatch extends Omit<GraphMatch, 'operation'> {
  operation?: ScanOperation;
  finding?: ScanFinding;
}

export interface ScanExample {
  operation: ScanOperation;
  status: number;
  code?: string;
  message?: string;
  finding?: ScanFinding;
}

export interface ScanEntry extends EntryBase {
  source: 'scan';
  match: ScanMatch;
  /** An example answer exactly as Graph sends it, used by the test. */
  example: ScanExample;
  /** What it does to the scan, for docs/errors.md (e.g. "the scan goes on with the report alone"). */
  effect: string;
  /** hint, fix and effect in Japanese (docs/ja/errors.md shows the effect). */
  ja: { hint: string; fix: string; effect: string };
}

/**
 * What an SMTP client met, for the generic entries (any SMTP server): the
 * command that was answered, the reply (or, when no reply came, the error's
 * message) and the client's error code (ECONNREFUSED, ETLS, EAUTH...).
 */
export interface GenericAnswer {
  command?: string | undefined;
  response?: string | undefined;
  error?: string | undefined;
}

/** Every given field must match. */
export interface GenericMatch {
  /** The command answered: STARTTLS, AUTH PLAIN, MAIL FROM, RCPT TO, DATA... */
  command?: RegExp;
  /** The reply code (its three digits); a failure without a reply has none. */
  code?: RegExp;
  /** Tested against the reply, continuation lines joined (or the error's message). */
  text?: RegExp;
  /** The client's error code. */
  error?: RegExp;
  /** Only failures without a reply code (the connection, DNS, TLS). */
  noReply?: boolean;
}

export interface GenericEntry extends EntryBase {
  source: 'generic';
  match: GenericMatch;
  /** An example as a common SMTP server (Postfix, smtp-server, Exchange) gives it, used by the test. */
  example: GenericAnswer;
}

export type CatalogueEntry = EntraEntry | GraphEntry | SmtpEntry | ScanEntry | GenericEntry;
