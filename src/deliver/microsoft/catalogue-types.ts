/**
 * The shapes of the Microsoft 365 error catalogue: what an entry matches, the
 * example reply it is tested with, and the explanation it gives.
 */
import type { TokenErrorDetails } from '../../identity/entra/token-provider.js';

export type CatalogueSource = 'entra' | 'graph' | 'smtp';

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
  /** wait before retrying, e.g. quota until tomorrow */
  retryAfterMs?: number;
}

/** The fields of a TokenError's details the catalogue reads. */
export type EntraExample = TokenErrorDetails;

/** Every given field must match. */
export interface EntraMatch {
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

interface EntryBase extends Explained {
  /** Which answer it explains: the sign-in (Entra), Graph, or an SMTP reply. */
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

export type CatalogueEntry = EntraEntry | GraphEntry | SmtpEntry;
