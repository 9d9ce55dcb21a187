/**
 * A Microsoft 365 tenant in the emulator with devices still on basic-auth
 * SMTP AUTH, for the migration scan and board tests: an app registration
 * with the scan's permissions (or fewer), five mailboxes that sent with a
 * password (sign-ins of client app Authenticated SMTP from the office's
 * addresses, one with refused passwords; SMTP App in the usage report),
 * and people who only use Outlook. Options: no Entra ID P1/P2 licence,
 * concealed report names.
 */
import type { Emulator, EmulatorApp, EmulatorTenant, GraphRole } from '../emulator/api.js';

export const SCAN_ROLES: GraphRole[] = ['Mail.Send', 'Reports.Read.All', 'AuditLog.Read.All', 'Directory.Read.All', 'ReportSettings.Read.All'];

export interface BasicAuthTenant {
  tenant: EmulatorTenant;
  app: EmulatorApp;
  secret: string;
  domain: string;
  /** The five mailboxes still sending with basic auth, and the address each sends from. */
  senders: { mailbox: string; ip: string; signIns: number; refused: number; lastAt: number }[];
}

let n = 0;
const H = 3_600_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function basicAuthTenant(emu: Emulator, opts: { premium?: boolean; concealed?: boolean; roles?: GraphRole[] } = {}): BasicAuthTenant {
  const i = ++n;
  const domain = `office${i}.example`;
  const tenant = emu.addTenant({ domains: [`office${i}.onmicrosoft.com`, domain], entraPremium: opts.premium ?? true, displayConcealedNames: opts.concealed ?? false });
  const secret = `scan~${i}~${Math.random().toString(36).slice(2)}`;
  const app = emu.addApp(tenant.id, { secrets: [{ value: secret }], graphRoles: opts.roles ?? SCAN_ROLES });
  const now = Date.now();
  const plan = [
    { local: 'mfp-3f', ip: '203.0.113.10', hours: [2, 5, 26, 50], refused: 0 },
    { local: 'mfp-2f', ip: '203.0.113.11', hours: [3, 27], refused: 0 },
    { local: 'ups-alerts', ip: '203.0.113.20', hours: [6], refused: 0 },
    { local: 'nas-backup', ip: '203.0.113.21', hours: [8, 32, 56], refused: 2 },
    { local: 'erp-batch', ip: '198.51.100.5', hours: [1, 4, 9, 30], refused: 0 },
  ];
  const senders: BasicAuthTenant['senders'] = [];
  for (const p of plan) {
    const mailbox = `${p.local}@${domain}`;
    emu.addMailbox(tenant.id, { address: mailbox });
    const rows = p.hours.map((h, k) => ({
      user: mailbox, at: now - h * H - k * 1000, ipAddress: p.ip,
      ...(k < p.refused ? { errorCode: 50126, failureReason: 'Invalid username or password or Invalid on-premise username or password.' } : {}),
    }));
    emu.addSignIns(tenant.id, rows);
    senders.push({ mailbox, ip: p.ip, signIns: rows.length, refused: p.refused, lastAt: Math.max(...rows.map((r) => r.at)) });
    emu.addEmailAppUsage(tenant.id, [{ user: mailbox, displayName: p.local.toUpperCase(), lastActivityDate: day(now - 24 * H), apps: { 'SMTP App': 'Undetermined' } }]);
  }
  for (const person of ['alice', 'bob']) {
    const mailbox = `${person}@${domain}`;
    emu.addMailbox(tenant.id, { address: mailbox });
    emu.addEmailAppUsage(tenant.id, [{ user: mailbox, displayName: person, lastActivityDate: day(now - 24 * H), apps: { 'Outlook For Windows': '16.0.17928' } }]);
    emu.addSignIns(tenant.id, [{ user: mailbox, at: now - 2 * H, ipAddress: '192.0.2.50', clientAppUsed: 'Mobile Apps and Desktop clients' }]);
  }
  return { tenant, app, secret, domain, senders };
}

/** A graph upstream on the emulator with this tenant's app. */
export function scanUpstream(emu: Emulator, t: BasicAuthTenant, mailbox: string) {
  return {
    type: 'graph' as const, tenant: t.tenant.domains[0]!, clientId: t.app.clientId, clientSecret: t.secret, ca: emu.caFile, mailbox,
    endpoints: { authority: emu.authorityHost, graph: emu.graphUrl }, timeout: '60s',
  };
}
