/**
 * Every sentence about the Sent Items clean-up that the log and the trail
 * say (the clean-up queue, sent-items.ts), in one table, English, whole
 * sentences. The `doctor` checks of Sent Items, in English and Japanese, are
 * in doctor/texts.ts.
 */

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

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${n} bytes`;
}
