/**
 * Starts the Microsoft 365 emulator (see api.ts): its test CA and
 * certificates, the HTTPS server (Entra, Graph, upload sessions) and the
 * two SMTP listeners, plus a forward proxy to it (forward-proxy.ts), all on
 * 127.0.0.1 with ports chosen by the OS (the proxy's may be given), around
 * one shared state that tests set up and inspect.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:https';
import type {
  EmailAppUsage, Emulator, EmulatorApp, EmulatorDraft, EmulatorItem, EmulatorMailbox, EmulatorSignIn, EmulatorTenant, FaultRule, RequestRecord, SentMessage,
} from './api.js';
import type { MailItem } from './mail-items.js';
import { makeCertificates } from './ca.js';
import { startForwardProxy, type ForwardProxy } from './forward-proxy.js';
import type { EmulatorContext } from './context.js';
import { DraftStore } from './drafts.js';
import { approveDeviceCode, declineDeviceCode } from './entra-delegated.js';
import { createHttpsServer } from './https-server.js';
import { DirectSendPolicy } from './direct-send.js';
import { startSmtp, type SmtpListener } from './smtp.js';
import { SubmissionPolicy } from './smtp-submission.js';
import { EmulatorState, newGuid } from './state.js';
import { TokenMinter } from './tokens.js';
import { UploadSessions } from './uploads.js';

export type * from './api.js';

class RunningEmulator implements Emulator {
  readonly authorityHost: string;
  readonly graphUrl: string;
  readonly smtpHost = '127.0.0.1';
  readonly smtpPort: number;
  readonly directSendPort: number;
  readonly caPem: string;
  readonly caFile: string;
  readonly proxyUrl: string;
  private tenantCount = 0;

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly https: Server,
    private readonly submission: { listener: SmtpListener; policy: SubmissionPolicy },
    private readonly direct: SmtpListener,
    private readonly draftStore: DraftStore,
    private readonly uploads: UploadSessions,
    private readonly proxy: ForwardProxy,
  ) {
    this.authorityHost = ctx.origin;
    this.graphUrl = `${ctx.origin}/v1.0`;
    this.smtpPort = submission.listener.port;
    this.directSendPort = direct.port;
    this.caPem = ctx.certs.caPem;
    this.caFile = ctx.certs.caFile;
    this.proxyUrl = proxy.url;
  }

  private get state(): EmulatorState {
    return this.ctx.state;
  }

  get tokenLifetimeSeconds(): number { return this.state.tokenLifetimeSeconds; }
  set tokenLifetimeSeconds(v: number) { this.state.tokenLifetimeSeconds = v; }
  get refreshTokenLifetimeSeconds(): number { return this.state.refreshTokenLifetimeSeconds; }
  set refreshTokenLifetimeSeconds(v: number) { this.state.refreshTokenLifetimeSeconds = v; }
  get deviceCodeIntervalSeconds(): number { return this.state.deviceCodeIntervalSeconds; }
  set deviceCodeIntervalSeconds(v: number) { this.state.deviceCodeIntervalSeconds = v; }
  get deviceCodeLifetimeSeconds(): number { return this.state.deviceCodeLifetimeSeconds; }
  set deviceCodeLifetimeSeconds(v: number) { this.state.deviceCodeLifetimeSeconds = v; }
  get graphMailboxConcurrency(): number { return this.state.graphMailboxConcurrency; }
  set graphMailboxConcurrency(v: number) { this.state.graphMailboxConcurrency = v; }
  get graphTooLargeStyle(): '413' | '400' { return this.state.graphTooLargeStyle; }
  set graphTooLargeStyle(v: '413' | '400') { this.state.graphTooLargeStyle = v; }
  get smtpConcurrentConnections(): number { return this.state.smtpConcurrentConnections; }
  set smtpConcurrentConnections(v: number) { this.state.smtpConcurrentConnections = v; }
  get smtpMessagesPerMinute(): number { return this.state.smtpMessagesPerMinute; }
  set smtpMessagesPerMinute(v: number) { this.state.smtpMessagesPerMinute = v; }
  get recipientsPerDay(): number { return this.state.recipientsPerDay; }
  set recipientsPerDay(v: number) { this.state.recipientsPerDay = v; }
  dailyUse(mailbox: string): { recipients: number; blocked: boolean } { return this.state.dailyUse(mailbox); }

  get reportRefreshDate(): string | undefined { return this.state.reports.refreshDate; }
  set reportRefreshDate(v: string | undefined) { this.state.reports.refreshDate = v; }
  get reportsPerTenMinutesPerApp(): number { return this.state.reports.reportsPerTenMinutesPerApp; }
  set reportsPerTenMinutesPerApp(v: number) { this.state.reports.reportsPerTenMinutesPerApp = v; }
  get reportsPerTenMinutesPerTenant(): number { return this.state.reports.reportsPerTenMinutesPerTenant; }
  set reportsPerTenMinutesPerTenant(v: number) { this.state.reports.reportsPerTenMinutesPerTenant = v; }
  get signInsPerTenSecondsPerApp(): number { return this.state.reports.signInsPerTenSecondsPerApp; }
  set signInsPerTenSecondsPerApp(v: number) { this.state.reports.signInsPerTenSecondsPerApp = v; }

  addEmailAppUsage(tenantId: string, rows: EmailAppUsage[]): void {
    this.state.reports.addUsage(this.tenantOf(tenantId), rows);
  }

  addSignIns(tenantId: string, rows: EmulatorSignIn[]): void {
    this.state.reports.addSignIns(this.tenantOf(tenantId), rows);
  }

  private tenantOf(idOrDomain: string): string {
    const t = this.state.findTenant(idOrDomain);
    if (!t) throw new Error(`no tenant ${idOrDomain}`);
    return t.id;
  }

  addTenant(t: Partial<EmulatorTenant> = {}): EmulatorTenant {
    this.tenantCount += 1;
    const tenant: EmulatorTenant = {
      id: (t.id ?? newGuid()).toLowerCase(), domains: t.domains ?? [`tenant${this.tenantCount}.onmicrosoft.com`],
      ...(t.rejectDirectSend !== undefined ? { rejectDirectSend: t.rejectDirectSend } : {}),
      ...(t.entraPremium !== undefined ? { entraPremium: t.entraPremium } : {}),
      ...(t.displayConcealedNames !== undefined ? { displayConcealedNames: t.displayConcealedNames } : {}),
    };
    this.state.tenants.set(tenant.id, tenant);
    return tenant;
  }

  addApp(tenantId: string, a: Partial<Omit<EmulatorApp, 'tenantId'>> = {}): EmulatorApp {
    const tenant = this.state.findTenant(tenantId);
    if (!tenant) throw new Error(`no tenant ${tenantId}`);
    const app: EmulatorApp = {
      clientId: (a.clientId ?? newGuid()).toLowerCase(),
      tenantId: tenant.id,
      secrets: a.secrets ?? [{ value: `${randomBytes(3).toString('hex')}~${randomBytes(27).toString('base64url')}` }],
      certificates: a.certificates ?? [],
      graphRoles: a.graphRoles ?? [],
      exchangeRoles: a.exchangeRoles ?? [],
      publicClient: a.publicClient ?? false,
      redirectUris: a.redirectUris ?? [],
      ...(a.delegatedConsent ? { delegatedConsent: a.delegatedConsent } : {}),
    };
    this.state.apps.set(app.clientId, app);
    return app;
  }

  addMailbox(tenantId: string, m: Partial<Omit<EmulatorMailbox, 'tenantId'>> & { address: string }): EmulatorMailbox {
    const tenant = this.state.findTenant(tenantId);
    if (!tenant) throw new Error(`no tenant ${tenantId}`);
    const mbx: EmulatorMailbox = {
      address: m.address,
      tenantId: tenant.id,
      licensed: m.licensed ?? true,
      smtpAuthDisabled: m.smtpAuthDisabled ?? false,
      sendAs: m.sendAs ?? [],
      maxMessageSize: m.maxMessageSize ?? 35 * 1024 * 1024,
      ...(m.password !== undefined ? { password: m.password } : {}),
    };
    this.state.mailboxes.set(mbx.address.toLowerCase(), mbx);
    return mbx;
  }

  app(clientId: string): EmulatorApp {
    const a = this.state.apps.get(clientId.toLowerCase());
    if (!a) throw new Error(`no app ${clientId}`);
    return a;
  }

  mailbox(address: string): EmulatorMailbox {
    const m = this.state.findMailbox(address);
    if (!m) throw new Error(`no mailbox ${address}`);
    return m;
  }

  approveDeviceCode(userCode: string, user: string): void {
    approveDeviceCode(this.state, userCode, user);
  }

  declineDeviceCode(userCode: string): void {
    declineDeviceCode(this.state, userCode);
  }

  pendingDeviceCodes(): string[] {
    const now = Date.now();
    return [...this.state.deviceCodes.values()].filter((e) => e.state === 'pending' && e.expiresAt > now).map((e) => e.userCode);
  }

  revokeRefreshTokens(user: string): void {
    // Refresh tokens issued up to now become invalid; ones issued later work.
    this.state.tokensValidFrom.set(user.toLowerCase(), Date.now() + 1);
  }

  fault(rule: FaultRule): void {
    this.state.faults.push({ ...rule });
  }

  clearFaults(): void {
    this.state.faults = [];
  }

  sent(): SentMessage[] {
    return [...this.state.sentMessages];
  }

  requests(): RequestRecord[] {
    return [...this.state.records];
  }

  drafts(mailbox?: string): EmulatorDraft[] {
    return this.draftStore.list(mailbox).map((d) => DraftStore.view(d));
  }

  sentItems(mailbox: string): EmulatorItem[] {
    return this.state.mail.all(mailbox, 'sentitems').map(itemView);
  }

  deletedItems(mailbox: string): EmulatorItem[] {
    return this.state.mail.all(mailbox, 'deleteditems').map(itemView);
  }

  get sentItemsDelayMs(): number { return this.state.mail.delayMs; }
  set sentItemsDelayMs(v: number) { this.state.mail.delayMs = v; }

  peakConcurrency(mailbox: string): number {
    return this.state.peak(mailbox);
  }

  peakSmtpConnections(mailbox: string): number {
    return this.submission.policy.peak(mailbox);
  }

  reset(): void {
    this.state.resetRecords();
    this.draftStore.clear();
    this.uploads.clear();
    this.submission.policy.resetCounters();
  }

  async close(): Promise<void> {
    this.uploads.clear();
    const closing = [
      new Promise<void>((r) => this.https.close(() => r())),
      new Promise<void>((r) => this.submission.listener.server.close(() => r())),
      new Promise<void>((r) => this.direct.server.close(() => r())),
    ];
    this.https.closeAllConnections();
    for (const s of [...this.submission.listener.sockets, ...this.direct.sockets]) s.destroy();
    await Promise.all([...closing, this.proxy.close()]);
    rmSync(this.ctx.dir, { recursive: true, force: true });
    liveDirs.delete(this.ctx.dir);
  }
}

function itemView(i: MailItem): EmulatorItem {
  return { id: i.id, mailbox: i.mailbox, folder: i.folder, internetMessageId: i.internetMessageId, createdAt: i.createdAt, visibleAt: i.visibleAt, size: i.size };
}

/** Temporary directories of emulators still running; removed at exit even when close() was never called. */
const liveDirs = new Set<string>();
let exitHook = false;

export interface EmulatorOptions {
  /** Keep the CA, server certificate and token-signing key in this directory and reuse them on later starts (see ca.ts). */
  keepCertificatesIn?: string;
  /** Port of the forward proxy on 127.0.0.1 (default: one the OS chooses). */
  proxyPort?: number;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const dir = mkdtempSync(join(tmpdir(), 'm365-emulator-'));
  liveDirs.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  const certs = await makeCertificates(dir, options.keepCertificatesIn);
  const ctx: EmulatorContext = { state: new EmulatorState(), minter: new TokenMinter(certs.signingKey, certs.kid), certs, origin: '', dir };
  const drafts = new DraftStore();
  const uploads = new UploadSessions(dir);
  const server = createHttpsServer(ctx, drafts, uploads);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  ctx.origin = `https://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const policy = new SubmissionPolicy(ctx);
  const [submission, direct] = await Promise.all([startSmtp(ctx, policy), startSmtp(ctx, new DirectSendPolicy(ctx))]);
  const proxy = await startForwardProxy(ctx, options.proxyPort).catch((err: unknown) => {
    for (const s of [server, submission.server, direct.server]) s.close();
    throw err;
  });
  return new RunningEmulator(ctx, server, { listener: submission, policy }, direct, drafts, uploads, proxy);
}
