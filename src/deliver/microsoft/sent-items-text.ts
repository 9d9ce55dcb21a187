/**
 * Every sentence about the Sent Items clean-up that people read: the log
 * messages of the clean-up queue (sent-items.ts) and the `doctor` checks
 * (doctor/sent-items.ts). They are kept in this one table so that another
 * language can be added beside it (the doctor's Japanese texts will be).
 * English, whole sentences, in the style of the other checks.
 */

/** The Entra ID steps that grant Mail.ReadWrite to an app (application permission, admin consent). */
export function grantMailReadWrite(clientId: string): string {
  return `In the Microsoft Entra admin center → App registrations → ${clientId} → API permissions → Add a permission → Microsoft Graph → ` +
    'Application permissions → Mail.ReadWrite → Add permissions, then Grant admin consent. A token issued before the consent does not have it: ' +
    'the relay gets a new one within about an hour, or at once after a restart.';
}

function minutes(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m >= 1 ? `${m} minute${m === 1 ? '' : 's'}` : `${Math.round(ms / 1000)} seconds`;
}

export const SENT_ITEMS_TEXT = {
  deleted: (mailbox: string, copies: number, permanent: boolean) =>
    `Deleted ${copies === 1 ? 'the copy' : `${copies} copies`} of this message from the Sent Items folder of ${mailbox} ` +
    (permanent ? 'for good (it did not go to Deleted Items).' : '(and from Deleted Items, where this cloud moves deleted mail).'),
  notFound: (mailbox: string, waits: readonly number[]) =>
    `No copy of this message appeared in the Sent Items folder of ${mailbox} within ${minutes(waits.reduce((a, b) => a + b, 0))}; ` +
    'if Exchange files it later, it stays there.',
  denied: (mailbox: string, reason: string) =>
    `The copy of this message in the Sent Items folder of ${mailbox} could not be deleted: Graph refused (${reason}). ` +
    'The message itself was delivered. The app needs the Mail.ReadWrite application permission (see authrelay doctor), ' +
    'and an application access policy or RBAC scope must let it use this mailbox.',
  failed: (mailbox: string, reason: string) =>
    `The copy of this message in the Sent Items folder of ${mailbox} could not be deleted (${reason}). The message itself was delivered; the copy stays in Sent Items.`,
  dropped: (pending: number) =>
    `${pending} Sent Items clean-ups are already waiting, so this message's copy will not be deleted. The message itself was delivered.`,
  noMessageId: (mailbox: string) =>
    `This message has no Message-ID that Exchange reported, so its copy in the Sent Items folder of ${mailbox} cannot be found and stays there. The message itself was delivered.`,
  retry: (reason: string) => `The copy in Sent Items is looked for again later (${reason}).`,
  abandonedOne: 'The relay is stopping, so the copy of this message in Sent Items will not be deleted. The message itself was delivered.',
  abandoned: (n: number) =>
    `The relay stopped with ${n} Sent Items clean-up${n === 1 ? '' : 's'} not done; those copies stay in Sent Items. The messages themselves were delivered.`,
} as const;

/** The `doctor` checks of the Sent Items clean-up and of the folder's size. */
export const SENT_ITEMS_DOCTOR_TEXT = {
  readWriteGranted: 'Mail.ReadWrite granted: sent copies can be deleted from Sent Items (sentItems: delete)',
  readWriteMissing: 'Mail.ReadWrite is not in the token: with sentItems: delete, the copies in Sent Items cannot be deleted (messages are still delivered)',
  readWriteMissingDetail: 'Graph answers 403 ErrorAccessDenied to the search of Sent Items and to permanentDelete; each failure is logged (event sent-items-denied) and counted (authrelay_sent_items_cleanups_total{result="denied"}).',
  delegatedNoGraph: 'sentItems: delete needs a Graph token of the app, which a delegated sign-in does not give',
  keep: 'sentItems: keep: Exchange keeps a copy of every message sent in the mailbox\'s Sent Items folder',
  keepFix: 'Set sentItems: delete on this upstream to delete each copy after the send (needs the Mail.ReadWrite application permission), or clean the folder with a retention policy.',
  folder: (mailbox: string, items: number, bytes: number | undefined) =>
    `Sent Items of ${mailbox}: ${items.toLocaleString('en-US')} item${items === 1 ? '' : 's'}${bytes === undefined ? '' : `, ${formatBytes(bytes)}`}`,
  folderSizeUnknown: 'Graph did not return the folder\'s size (PR_MESSAGE_SIZE_EXTENDED); only the number of items is shown.',
  folderLarge: (mailbox: string, items: number, bytes: number | undefined) =>
    `Sent Items of ${mailbox} is large: ${items.toLocaleString('en-US')} items${bytes === undefined ? '' : `, ${formatBytes(bytes)}`}`,
  folderLargeDetail: (maxItems: number, maxBytes: number) =>
    `Warned above ${maxItems.toLocaleString('en-US')} items or ${formatBytes(maxBytes)}: the size is a fifth of the 50 GB that an Exchange Online Plan 1 or Business mailbox holds ` +
    '(100 GB with Plan 2, E3 or E5); the count is the relay\'s own mark (about a year of 30 scans a day), not a Microsoft limit. A mailbox that reaches its quota can no longer send.',
  folderLargeFix: (name: string, keep: boolean) =>
    keep
      ? `Set upstreams.${name}.sentItems: delete so that the relay deletes each copy after the send, and empty the folder once (Outlook on the web → Sent Items → Empty folder).`
      : 'The relay deletes new copies; empty the folder once for the old ones (Outlook on the web → Sent Items → Empty folder), and check the clean-up counter for failures.',
  folderUnreadable: (mailbox: string, status: string) => `The Sent Items folder of ${mailbox} could not be read (${status})`,
  folderNeedsRead: (mailbox: string) => `Size of Sent Items of ${mailbox} not checked: reading a folder needs Mail.Read or Mail.ReadWrite`,
  noMailbox: 'Sent Items not checked: no sending mailbox is known (set mailbox on the upstream, or sendAs on the devices that use it)',
} as const;

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${n} bytes`;
}
