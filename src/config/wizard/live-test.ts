/**
 * "Test the credentials live" for `authrelay init`, with the validated
 * config: for graph and smtp-oauth an app token is requested from Entra ID
 * (TokenProviders, as the relay does) and the permissions in its `roles`
 * claim are compared with what the route needs; a refusal is explained with
 * the error catalogue's text and fix. For Direct Send the domain's MX host
 * is looked up; another SMTP relay is probed (smtp-probe.ts: greeting, EHLO,
 * STARTTLS or TLS on connect, the certificate) and the settings about to be
 * written are checked against what it offers. No message is sent.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Config, EntraUpstreamConfig, SmtpUpstreamConfig } from '../schema.js';
import { createLogger } from '../../core/log.js';
import type { InitAnswers } from './answers.js';
import { UPSTREAM_NAME } from './config-document.js';
import { neededPermissions } from './steps.js';
import { probeSmtp, type ProbeOptions, type SmtpProbe } from './smtp-probe.js';
import { checkSettings, describeProbe } from './smtp-probe-proposal.js';

export interface LiveResult {
  ok: boolean;
  /** False when nothing could be tested (e.g. a delegated route before its sign-in). */
  tested: boolean;
  /** For an SMTP relay: what the probe found. */
  probe?: SmtpProbe;
}

export interface LiveOptions {
  /** A probe of the same relay made already (it proposed the settings): it is not repeated. */
  probe?: SmtpProbe | undefined;
}

type Say = (line?: string) => void;

export async function liveTest(a: InitAnswers, config: Config, say: Say, opts: LiveOptions = {}): Promise<LiveResult> {
  const name = UPSTREAM_NAME[a.route];
  const upstream = name ? config.upstreams[name] : undefined;
  if (!upstream || !name) return { ok: true, tested: false };
  if (upstream.type === 'graph' || (upstream.type === 'smtp-oauth' && !upstream.delegated)) return tokenTest(a, name, upstream, say);
  if (upstream.type === 'smtp-oauth') {
    say(`A delegated route is tested after the sign-in: run \`authrelay oauth login ${name}\`, then \`authrelay send-test --route ${name} --to <address>\`.`);
    return { ok: true, tested: false };
  }
  if (upstream.type === 'direct-send') return mxTest(upstream.domain, upstream.dnsServers, say);
  if (upstream.type === 'smtp') return smtpTest(upstream, config, say, opts.probe);
  return { ok: true, tested: false };
}

async function tokenTest(a: InitAnswers, name: string, cfg: EntraUpstreamConfig, say: Say): Promise<LiveResult> {
  const resource = cfg.type === 'graph' ? 'graph' : 'smtp';
  const [{ TokenProviders }, { TokenError }, { explainTokenError }] = await Promise.all([
    import('../../identity/entra/providers.js'),
    import('../../identity/entra/token-provider.js'),
    import('../../deliver/microsoft/catalogue.js'),
  ]);
  const providers = new TokenProviders({ dataDir: '', secretKey: undefined, log: createLogger('silent'), recordStatus: false, signInRenewalMs: 0 });
  try {
    const provider = providers.get(name, cfg, resource);
    say(`Requesting a token: ${provider.description} ...`);
    const token = await provider.getToken(AbortSignal.timeout(60_000));
    say(`  Signed in. The token is valid until ${new Date(token.expiresAt).toISOString()}.`);
    say(`  Permissions in the token (roles): ${token.permissions.length ? token.permissions.join(', ') : '(none)'}`);
    const need = neededPermissions(a.route);
    const has = new Set(token.permissions.map((r) => r.toLowerCase()));
    for (const r of need.required) {
      say(has.has(r.toLowerCase())
        ? `  ✓ ${r}: granted`
        : `  ✗ ${r}: not in the token. Grant it with admin consent (steps above), unless RBAC for Applications in Exchange Online gives it for the chosen mailboxes (such grants do not show in the token).`);
    }
    for (const o of need.optional) say(has.has(o.name.toLowerCase()) ? `  ✓ ${o.name}: granted` : `  - ${o.name}: not granted; ${o.why}`);
    return { ok: true, tested: true };
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    const e = explainTokenError(err, { appId: cfg.clientId, tenant: cfg.tenant, upstream: name, mailbox: a.mailbox });
    say(`  Entra ID refused: ${e.response ?? err.message}`);
    if (e.hint) say(`  What it means: ${e.hint}`);
    if (e.fix) say(`  What to do: ${e.fix}`);
    if (e.ref) say(`  Reference: ${e.ref} (docs/errors.md)`);
    return { ok: false, tested: true };
  } finally {
    providers.close();
  }
}

async function mxTest(domain: string, dnsServers: string[] | undefined, say: Say): Promise<LiveResult> {
  const [{ MxLookup, isMicrosoftMx }, { directSendWarnings, foreignMxWarning }] = await Promise.all([
    import('../../deliver/direct-send/mx.js'),
    import('../../deliver/direct-send/warnings.js'),
  ]);
  say(`Looking up the MX host of ${domain} ...`);
  try {
    const target = await new MxLookup({ domain, ...(dnsServers?.length ? { dnsServers } : {}) }).resolve();
    say(`  MX host: ${target.host} (${target.address})`);
    say(isMicrosoftMx(target.host) ? '  ✓ a Microsoft 365 host: Direct Send goes there on port 25.' : `  ! ${foreignMxWarning(domain, target.host)}`);
    for (const w of directSendWarnings({ domain, requireTls: false })) say(`  - ${w}`);
    return { ok: true, tested: true };
  } catch (err) {
    const code = (err as { code?: string }).code;
    say(`  The MX lookup failed (${code ?? (err as Error).message}): check the domain's spelling and that it is one of your Microsoft 365 domains.`);
    return { ok: false, tested: true };
  }
}

/** What the probe needs to look at an smtp upstream the way the transport will use it. */
export function probeOptions(u: Pick<SmtpUpstreamConfig, 'host' | 'port' | 'ca' | 'servername' | 'helo'>, config: Pick<Config, 'hostname'>): ProbeOptions {
  return {
    host: u.host, port: u.port, helo: u.helo ?? config.hostname ?? hostname(),
    ...(u.ca ? { ca: readFileSync(u.ca, 'utf8') } : {}), ...(u.servername ? { servername: u.servername } : {}),
  };
}

async function smtpTest(u: SmtpUpstreamConfig, config: Config, say: Say, known: SmtpProbe | undefined): Promise<LiveResult> {
  let probe = known;
  if (!probe || probe.host !== u.host || probe.port !== u.port) {
    say(`Looking at the relay ${u.host}:${u.port} ...`);
    probe = await probeSmtp(probeOptions(u, config));
    for (const line of describeProbe(probe)) say(line);
  }
  const check = checkSettings(probe, { tls: u.tls, rejectUnauthorized: u.rejectUnauthorized });
  for (const line of check.lines) say(line);
  return { ok: check.ok, tested: true, probe };
}
