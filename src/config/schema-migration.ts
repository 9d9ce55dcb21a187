/**
 * The `migration` section of the configuration (docs/migration.md): which
 * app registration reads the tenant's usage report and sign-in logs (a
 * Microsoft upstream's, or one of its own), the report period, the daily
 * scan, the deadline the board counts down to, and when a sender counts as
 * quiet. schema.ts puts it in the one schema; the app's fields are the
 * upstreams' Entra fields, handed in so that this file imports nothing back.
 */
import { fill } from '../core/i18n.js';
import { CONFIG_PROBLEM_TEXT as P } from './problem-texts.js';
import { z } from '../vendor/zod.js';
import { parseDuration } from '../core/units.js';

/** Microsoft's published date: SMTP AUTH basic auth disabled by default for existing tenants at the end of December 2026. */
export const DEFAULT_DEADLINE = '2026-12-31';

const days = (dflt: string) =>
  z
    .union([z.string(), z.number()])
    .default(dflt)
    .transform((v, ctx) => {
      const ms = typeof v === 'number' ? v * 1000 : parseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: fill(P.notDays.en, { value: String(v) }), params: { text: 'notDays', values: { value: String(v) } } });
        return z.NEVER;
      }
      return ms;
    });

const DAY = 86_400_000;

/** The settings used when the section is absent (`authrelay migrate scan --upstream NAME` still works): no scheduled scan. */
export const MIGRATION_DEFAULTS = Object.freeze({
  period: 'D30' as const, schedule: 'off' as const, deadline: DEFAULT_DEADLINE, quietAfter: 14 * DAY, keepScans: 400 * DAY,
});

/** The section, given the Entra app fields (tenant, clientId, credential, cloud, endpoints, ca, proxy) that schema.ts shares. */
export function migrationSchema<T extends z.ZodRawShape>(entraAppFields: T) {
  const app = z
    .object(entraAppFields)
    .strict()
    .refine((a) => ((a as { clientSecret?: unknown }).clientSecret === undefined) !== ((a as { certificate?: unknown }).certificate === undefined), {
      message: P.migrationAppOneCredential.en,
    })
    .describe('A separate app registration for the scan (Reports.Read.All, AuditLog.Read.All, Directory.Read.All), instead of an upstream\'s');
  return z
    .object({
      upstream: z
        .string()
        .min(1)
        .optional()
        .describe('The graph or smtp-oauth upstream whose app registration reads the tenant (it needs Reports.Read.All and AuditLog.Read.All as well)'),
      app: app.optional(),
      period: z
        .enum(['D7', 'D30', 'D90', 'D180'])
        .default('D30')
        .describe('Days of the usage report each scan reads (D7, D30, D90, D180); the sign-in logs reach back as far, at most 30 days (Entra keeps them 30 days)'),
      schedule: z
        .enum(['daily', 'off'])
        .default('daily')
        .describe('daily: the relay scans once a day (the board stays current and keeps its history); off: only on request'),
      deadline: z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}$/, P.dateDeadline.en)
        .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), { message: P.notCalendarDate.en })
        .default(DEFAULT_DEADLINE)
        .describe('The day the board counts down to (Microsoft: basic auth off by default for existing tenants at the end of December 2026)'),
      quietAfter: days('14d').describe('A sender with no basic-auth use and no message through authrelay for this long is shown as quiet'),
      keepScans: days('400d').describe('Scans older than this are removed from the spool'),
    })
    .strict()
    .describe('The migration board: find the mailboxes and devices still sending with basic-auth SMTP AUTH, and move them to authrelay');
}
