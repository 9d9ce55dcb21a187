/**
 * `authrelay doctor`: checks a configuration and the machine it runs on and
 * explains each finding with its fix. Runs without the relay: it reads the
 * validated config and the spool, binds nothing it keeps, sends no mail.
 * Sections: listeners and certificates, each upstream, the queue.
 */
import type { Config } from '../config/schema.js';
import { createLogger } from '../core/log.js';
import type { TokenProviders } from '../identity/entra/providers.js';
import { checkListeners } from './listeners.js';
import { checkQueue } from './queue-health.js';
import { Report } from './report.js';
import { both, DOCTOR_TEXT as T } from './texts.js';
import { checkUpstream } from './upstreams.js';
import { readerNeeds } from './readers.js';

export interface DoctorOptions {
  /** The site's public IP address, to evaluate Direct Send SPF records. */
  publicIp?: string | undefined;
  /** Longest wait for one network step (default 15 s). */
  timeoutMs?: number;
  now?: number;
  /** Where the configuration came from, for the first line. */
  source?: string;
}

/**
 * The mailboxes an upstream sends as: its own mailbox, and the sendAs of
 * every device whose route is it (the device's route, or a rule that names
 * the upstream for it). Messages that go as their From address are not known
 * here.
 */
export function sendingMailboxes(config: Config, upstream: string): string[] {
  const up = config.upstreams[upstream];
  const out = new Set<string>();
  if (up && 'mailbox' in up && up.mailbox) out.add(up.mailbox.toLowerCase());
  for (const d of config.devices) {
    if (!d.sendAs) continue;
    const uses = d.route ? d.route === upstream : config.routes.some((r) => r.use.includes(upstream) && (!r.when.device || r.when.device.includes(d.name)));
    if (uses) out.add(d.sendAs.toLowerCase());
  }
  return [...out];
}

export async function runDoctor(config: Config, opts: DoctorOptions = {}, report = new Report()): Promise<Report> {
  const now = opts.now ?? Date.now();
  const timeoutMs = opts.timeoutMs ?? 15_000;
  report.section(T.sectionConfiguration)({ id: 'config.valid', status: 'pass', title: opts.source === '(embedded default)' ? T.configValidDefault : opts.source ? both(T.configValidFrom, { source: opts.source }) : T.configValid });

  await checkListeners(config, report.section(T.sectionListeners), now);

  const names = Object.keys(config.upstreams);
  if (names.length === 0) {
    report.section(T.sectionUpstreams)({ id: 'upstreams.none', status: 'warn', title: T.upstreamsNone, fix: T.upstreamsNoneFix });
  }
  // Sign-in with a silent log and without status files or renewal timers: doctor only looks.
  // MSAL is loaded only when a Microsoft 365 upstream is checked.
  let providers: Promise<TokenProviders> | undefined;
  let made: TokenProviders | undefined;
  const tokens = () => (providers ??= import('../identity/entra/providers.js').then(({ TokenProviders }) => (made = new TokenProviders({
    dataDir: config.dataDir, secretKey: config.secretKey, log: createLogger('silent'), recordStatus: false, signInRenewalMs: 0,
  }))));
  try {
    for (const name of names) {
      const up = config.upstreams[name]!;
      await checkUpstream(report.section(both(T.sectionUpstream, { name, type: up.type })), name, up, { tokens, publicIp: opts.publicIp, timeoutMs, now, mailboxes: sendingMailboxes(config, name), readers: readerNeeds(config, name) });
    }
  } finally {
    made?.close();
  }

  await checkQueue(config, report.section(T.sectionQueue), now);
  return report;
}
