/**
 * Mail folders on the emulator's Graph: GET /users/{u}/mailFolders/{name}
 * for the well-known folders, and GET .../mailFolders/{name}/messages with
 * the query options a client uses to find its own drafts:
 *   - $filter: `internetMessageId eq '<id>'`, or a single-value extended
 *     property, `singleValueExtendedProperties/any(ep: ep/id eq 'String
 *     {guid} Name <name>' and ep/value eq '<value>')`. The property's name is
 *     compared case-sensitively and its value case-insensitively, as Graph's
 *     singleValueLegacyExtendedProperty docs say. Any other filter gets
 *     Graph's 400 ErrorInvalidUrlQueryFilter. Graph cannot filter on
 *     internetMessageHeaders either.
 *   - $select (id and @odata.etag always come back), $top (default 10, at
 *     most 1000), and $skip, with an @odata.nextLink while more remain.
 * Drafts holds the drafts (drafts.ts); Sent Items and Deleted Items hold
 * what mail-items.ts files there (sent copies, deleted messages); Inbox
 * lists as empty. A folder's GET gives totalItemCount; its size in bytes
 * comes, as on Exchange, only as the MAPI property PR_MESSAGE_SIZE_EXTENDED
 * when asked for: `$expand=singleValueExtendedProperties($filter=id eq
 * 'Long 0x0E08')` (Graph's documented way to read an extended property of a
 * mailFolder; the value is a string, the id comes back as 'Long 0xe08').
 * Reading needs Mail.ReadBasic(.All), Mail.Read or Mail.ReadWrite; Mail.Send
 * alone is refused.
 */
import type { EmulatorMailbox } from './api.js';
import type { Draft } from './drafts.js';
import type { GraphCall } from './graph.js';
import { itemResource, type ItemFolder, type MailItem } from './mail-items.js';
import { sendGraphError, sendJson } from './http-util.js';
import { mimeFrom, mimeRecipients } from './mime.js';
import { objectId } from './tokens.js';

/** Well-known folders a mailbox always has (GET /users/{u}/mailFolders/{name}). */
const WELL_KNOWN_FOLDERS: Record<string, string> = { inbox: 'Inbox', drafts: 'Drafts', sentitems: 'Sent Items', deleteditems: 'Deleted Items' };

/** PS_INTERNET_HEADERS, where Exchange keeps a MIME message's custom header fields ([MS-OXCMAIL] 2.2.3.2.29). */
const PS_INTERNET_HEADERS = '{00020386-0000-0000-c000-000000000046}';

const INVALID_FILTER = 'The query filter contains one or more invalid nodes.';

function isoSeconds(t: number): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A draft as Graph shows it (the answer to POST /messages, an item of a listing). */
export function draftResource(c: GraphCall, d: Draft): Record<string, unknown> {
  const base = `${c.ctx.origin}/v1.0`;
  return {
    '@odata.context': `${base}/$metadata#users('${encodeURIComponent(d.mailbox)}')/messages/$entity`,
    '@odata.etag': 'W/"CQAAABYAAAA"',
    id: d.id,
    createdDateTime: isoSeconds(d.createdAt),
    lastModifiedDateTime: isoSeconds(Date.now()),
    isDraft: true,
    hasAttachments: d.attachments.length > 0,
    internetMessageId: d.internetMessageId,
    parentFolderId: objectId('folder', d.mailbox, 'drafts'),
    from: { emailAddress: { address: mimeFrom(d.mime) ?? d.mailbox } },
    toRecipients: mimeRecipients(d.mime).map((address) => ({ emailAddress: { address } })),
  };
}

/** GET /users/{u}/mailFolders/{name}. `mbx` is undefined when the common checks already answered. */
export function getMailFolder(c: GraphCall, name: string, mbx: EmulatorMailbox | undefined): void {
  if (!mbx) return;
  const displayName = WELL_KNOWN_FOLDERS[name.toLowerCase()];
  if (!displayName) {
    sendGraphError(c.req, c.res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
    return;
  }
  const folder = name.toLowerCase();
  const sizes = folder === 'drafts'
    ? c.drafts.list(mbx.address).map((d) => d.mime.length + d.attachments.reduce((n, a) => n + a.size, 0))
    : isItemFolder(folder) ? c.ctx.state.mail.list(mbx.address, folder).map((i) => i.size) : [];
  const expand = c.query.get('$expand');
  const size = expand !== null && SIZE_PROPERTY.test(expand.trim())
    ? { singleValueExtendedProperties: [{ id: 'Long 0xe08', value: String(sizes.reduce((a, b) => a + b, 0)) }] }
    : {};
  sendJson(c.res, 200, {
    id: objectId('folder', mbx.address, folder), displayName, parentFolderId: objectId('folder', mbx.address, 'msgfolderroot'),
    childFolderCount: 0, unreadItemCount: 0, totalItemCount: sizes.length, isHidden: false, ...size,
  });
}

/** $expand of PR_MESSAGE_SIZE_EXTENDED (0x0E08, PT_I8 = Long), however the hex is written. */
const SIZE_PROPERTY = /^singleValueExtendedProperties\(\s*\$filter\s*=\s*id eq 'Long 0x0*e08'\s*\)$/i;

function isItemFolder(folder: string): folder is ItemFolder {
  return folder === 'sentitems' || folder === 'deleteditems';
}

/** What a $filter looks at: a draft's or an item's internetMessageId and custom header fields. */
type Filterable = Pick<Draft, 'internetMessageId' | 'internetHeaders'>;
type Predicate = (d: Filterable) => boolean;

const quoted = "'((?:[^']|'')*)'";
const unquote = (s: string) => s.replace(/''/g, "'");
const EXTENDED = new RegExp(`^singleValueExtendedProperties/any\\(\\s*(\\w+)\\s*:\\s*\\1/id eq ${quoted}\\s+and\\s+\\1/value eq ${quoted}\\s*\\)$`, 'i');
const MESSAGE_ID = new RegExp(`^internetMessageId eq ${quoted}$`, 'i');

/** The filter as a predicate; undefined when it is not one the emulator (or Graph) takes. */
export function parseFilter(filter: string): Predicate | undefined {
  const f = filter.trim();
  const ext = EXTENDED.exec(f);
  if (ext) {
    const id = /^String\s+(\{[0-9a-f-]{36}\})\s+Name\s+(.+)$/i.exec(unquote(ext[2]!));
    if (!id) return undefined;
    const [set, name, value] = [id[1]!.toLowerCase(), id[2]!, unquote(ext[3]!).toLowerCase()];
    if (set !== PS_INTERNET_HEADERS) return () => false; // no other named properties are modelled
    return (d) => d.internetHeaders.some((h) => h.name === name && h.value.toLowerCase() === value);
  }
  const mid = MESSAGE_ID.exec(f);
  if (mid) {
    const value = unquote(mid[1]!);
    return (d) => d.internetMessageId === value;
  }
  return undefined;
}

/** GET /users/{u}/mailFolders/{name}/messages with $filter, $select, $top and $skip. */
export function listFolderMessages(c: GraphCall, name: string, mbx: EmulatorMailbox | undefined): void {
  if (!mbx) return;
  const folder = name.toLowerCase();
  if (!WELL_KNOWN_FOLDERS[folder]) {
    sendGraphError(c.req, c.res, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
    return;
  }
  const filterText = c.query.get('$filter');
  const filter = filterText === null ? () => true : parseFilter(filterText);
  if (!filter) {
    sendGraphError(c.req, c.res, 400, 'ErrorInvalidUrlQueryFilter', INVALID_FILTER);
    return;
  }
  const top = c.query.has('$top') ? Number(c.query.get('$top')) : 10;
  const skip = c.query.has('$skip') ? Number(c.query.get('$skip')) : 0;
  if (!Number.isInteger(top) || top < 1 || top > 1000 || !Number.isInteger(skip) || skip < 0) {
    // ⚠ The wording of Graph's answer to a bad $top/$skip was not looked up; the status is the usual 400.
    sendGraphError(c.req, c.res, 400, 'BadRequest', 'Invalid value for $top or $skip.');
    return;
  }
  const select = c.query.get('$select')?.split(',').map((s) => s.trim()).filter(Boolean);
  const items: (Draft | MailItem)[] = folder === 'drafts' ? c.drafts.list(mbx.address).filter(filter)
    : isItemFolder(folder) ? c.ctx.state.mail.list(mbx.address, folder).filter(filter) : [];
  const page = items.slice(skip, skip + top);
  const value = page.map((d) => {
    const { '@odata.context': _context, ...all } = 'folder' in d ? itemResource(c, d) : draftResource(c, d);
    if (!select) return all;
    const picked: Record<string, unknown> = { '@odata.etag': all['@odata.etag'], id: all.id };
    for (const key of select) if (key in all) picked[key] = all[key];
    return picked;
  });
  const next = new URL(`${c.ctx.origin}${c.req.url ?? ''}`);
  next.searchParams.set('$skip', String(skip + top));
  sendJson(c.res, 200, {
    '@odata.context': `${c.ctx.origin}/v1.0/$metadata#users('${encodeURIComponent(mbx.address)}')/mailFolders('${name}')/messages${select ? `(${select.join(',')})` : ''}`,
    value,
    ...(skip + top < items.length ? { '@odata.nextLink': next.toString() } : {}),
  });
}
