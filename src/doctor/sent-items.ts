/**
 * `doctor` checks of Sent Items, for graph and smtp-oauth upstreams:
 *   - with `sentItems: delete`, that the app's Graph token carries
 *     Mail.ReadWrite (the search of Sent Items and permanentDelete need it),
 *     with the Entra ID steps that grant it when it is missing;
 *   - the size of the Sent Items folder of each mailbox the upstream sends
 *     as (the route's mailbox and the sendAs of the devices that use it):
 *     GET /users/{mailbox}/mailFolders/sentitems gives totalItemCount; the
 *     size in bytes is not a documented mailFolder property, so it is asked
 *     for as the MAPI property PR_MESSAGE_SIZE_EXTENDED (PT_I8, tag 0x0E08,
 *     "the sum of the sizes of all properties" of a folder's messages) with
 *     `$expand=singleValueExtendedProperties($filter=id eq 'Long 0x0E08')`
 *     (Graph's documented way to read an extended property of a mailFolder);
 *     a `sizeInBytes` field, which Graph has been seen to return, is used
 *     when present. A folder over WARN_ITEMS items or WARN_BYTES is a warning.
 * The texts are in texts.ts (English and Japanese).
 */
import { readFileSync } from 'node:fs';
import type { GraphUpstreamConfig, SmtpOauthUpstreamConfig } from '../config/schema.js';
import { HttpClient } from '../core/http.js';
import { formatBytes } from '../deliver/microsoft/sent-items-text.js';
import { asIs, NO_TEXT, type Text } from '../core/i18n.js';
import type { AccessToken } from '../identity/entra/token-provider.js';
import type { AddCheck } from './report.js';
import { both, DOCTOR_TEXT as T } from './texts.js';

/** A fifth of the 50 GB of an Exchange Online Plan 1 or Business mailbox (see DOCTOR_TEXT.sentFolderLargeDetail). */
export const WARN_BYTES = 10 * 1024 ** 3;
/** The relay's own mark: about a year of 30 scans a day. */
export const WARN_ITEMS = 10_000;

const READ = ['Mail.ReadBasic.All', 'Mail.ReadBasic', 'Mail.Read', 'Mail.ReadWrite'];

function has(perms: readonly string[], ...names: string[]): boolean {
  return perms.some((p) => names.some((n) => p.toLowerCase() === n.toLowerCase()));
}

export interface SentItemsCheck {
  id: string;
  name: string;
  cfg: GraphUpstreamConfig | SmtpOauthUpstreamConfig;
  graphUrl: string;
  /** A Graph token of the upstream's app (undefined: none could be had; the token check already said why). */
  token: AccessToken | undefined;
  /** The mailboxes the upstream sends as. */
  mailboxes: readonly string[];
  timeoutMs: number;
  /** Thresholds of the warning (default WARN_ITEMS and WARN_BYTES). */
  warn?: { items: number; bytes: number };
}

export async function checkSentItems(add: AddCheck, c: SentItemsCheck): Promise<void> {
  const perms = c.token?.permissions ?? [];
  if (c.cfg.sentItems === 'delete') {
    if (!c.token) {
      // The failed token check says why; nothing more to say here.
    } else if (has(perms, 'Mail.ReadWrite')) {
      add({ id: `${c.id}.sent-items`, status: 'pass', title: T.sentReadWriteGranted });
    } else {
      add({ id: `${c.id}.sent-items`, status: 'fail', title: T.sentReadWriteMissing, detail: T.sentReadWriteMissingDetail, fix: both(T.sentGrantReadWrite, { appId: c.cfg.clientId }) });
    }
  } else {
    add({ id: `${c.id}.sent-items`, status: 'info', title: T.sentKeep });
  }
  if (!c.token) return;
  if (c.mailboxes.length === 0) {
    add({ id: `${c.id}.sent-items-size`, status: 'info', title: T.sentNoMailbox });
    return;
  }
  if (!has(perms, ...READ)) {
    for (const mailbox of c.mailboxes) add({ id: `${c.id}.sent-items-size`, status: 'info', title: both(T.sentFolderNeedsRead, { mailbox }) });
    return;
  }
  const http = new HttpClient({ ...(c.cfg.ca ? { ca: readFileSync(c.cfg.ca, 'utf8') } : {}), ...(c.cfg.proxy ? { proxy: c.cfg.proxy } : {}) });
  try {
    for (const mailbox of c.mailboxes) await folderSize(add, c, http, c.token, mailbox);
  } finally {
    http.close();
  }
}

async function folderSize(add: AddCheck, c: SentItemsCheck, http: HttpClient, token: AccessToken, mailbox: string): Promise<void> {
  const id = `${c.id}.sent-items-size`;
  const expand = encodeURIComponent("singleValueExtendedProperties($filter=id eq 'Long 0x0E08')");
  let res;
  try {
    res = await http.request({
      method: 'GET', url: `${c.graphUrl.replace(/\/$/, '')}/users/${encodeURIComponent(mailbox)}/mailFolders/sentitems?$expand=${expand}`,
      headers: { authorization: `Bearer ${token.token}`, accept: 'application/json' }, timeoutMs: c.timeoutMs,
    });
  } catch (err) {
    add({ id, status: 'warn', title: both(T.sentFolderUnreadable, { mailbox, status: (err as Error).message }) });
    return;
  }
  const body = res.json<{ totalItemCount?: unknown; sizeInBytes?: unknown; singleValueExtendedProperties?: { id?: unknown; value?: unknown }[]; error?: { code?: string; message?: string } }>();
  if (res.status !== 200 || typeof body?.totalItemCount !== 'number') {
    const status = both(T.graphAnswered, { status: `${res.status}${body?.error?.code ? ` ${body.error.code}` : ''}` });
    add({ id, status: 'warn', title: both(T.sentFolderUnreadable, { mailbox, status }), detail: body?.error?.message ? asIs(body.error.message) : NO_TEXT });
    return;
  }
  const items = body.totalItemCount;
  const bytes = sizeOf(body);
  const limit = c.warn ?? { items: WARN_ITEMS, bytes: WARN_BYTES };
  const large = items > limit.items || (bytes !== undefined && bytes > limit.bytes);
  const values = { mailbox, items: both(items === 1 ? T.sentItemOne : T.sentItemMany, { n: items.toLocaleString('en-US') }), size: sizeText(bytes) };
  if (large) {
    add({
      id, status: 'warn', title: both(T.sentFolderLarge, values),
      detail: both(T.sentFolderLargeDetail, { maxItems: limit.items.toLocaleString('en-US'), maxSize: formatBytes(limit.bytes) }),
      fix: c.cfg.sentItems !== 'delete' ? both(T.sentFolderLargeFixKeep, { name: c.name }) : T.sentFolderLargeFixDelete,
    });
  } else {
    add({ id, status: 'info', title: both(T.sentFolder, values), detail: bytes === undefined ? T.sentFolderSizeUnknown : NO_TEXT });
  }
}

/** ", 1.2 GB" after the number of items (nothing when the size is not known). */
function sizeText(bytes: number | undefined): Text {
  return bytes === undefined ? NO_TEXT : { en: `, ${formatBytes(bytes)}`, ja: `、${formatBytes(bytes).replace(/ bytes$/, ' バイト')}` };
}

/** sizeInBytes when Graph gave it, else PR_MESSAGE_SIZE_EXTENDED (its id comes back as 'Long 0xe08'; the value is a string). */
export function sizeOf(body: { sizeInBytes?: unknown; singleValueExtendedProperties?: { id?: unknown; value?: unknown }[] }): number | undefined {
  if (typeof body.sizeInBytes === 'number' && Number.isFinite(body.sizeInBytes)) return body.sizeInBytes;
  const prop = body.singleValueExtendedProperties?.find((p) => typeof p.id === 'string' && /^long\s+0x0*e08$/i.test(p.id.trim()));
  const n = prop ? Number(prop.value) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}
