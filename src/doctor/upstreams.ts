/**
 * Upstream checks for `doctor`, per type: the hosts each upstream connects
 * to (DNS, TCP, TLS), then for Microsoft 365 the sign-in, permissions, a
 * mailbox probe and Sent Items (sent-items.ts), and for Direct Send the MX
 * host and the SPF record.
 */
import { readFileSync } from 'node:fs';
import type { DirectSendUpstreamConfig, GraphUpstreamConfig, SmtpOauthUpstreamConfig, SmtpUpstreamConfig, UpstreamConfig } from '../config/schema.js';
import { resolveEndpoints } from '../identity/entra/clouds.js';
import type { TokenProviders } from '../identity/entra/providers.js';
import { checkEndpoint } from './network.js';
import { checkCredential, checkGraphAccess, checkSmtpPermission, checkSmtpSignIn, checkToken } from './microsoft.js';
import { checkDirectSend } from './direct-send.js';
import { checkSentItems } from './sent-items.js';
import { checkMailboxUpstream } from './readers.js';
import type { MailProtocol } from '../proxy/common/types.js';
import type { AddCheck } from './report.js';
import { both, DOCTOR_TEXT as T } from './texts.js';

export interface UpstreamCheckOptions {
  /** Made on first use: MSAL is loaded only when a Microsoft 365 upstream is checked. */
  tokens: () => Promise<TokenProviders>;
  publicIp: string | undefined;
  timeoutMs: number;
  now: number;
  /** The mailboxes this upstream sends as (its mailbox, the sendAs of devices that use it), for the Sent Items checks. */
  mailboxes?: readonly string[];
  /** exchange-mailbox upstreams: the protocols of the listeners that name it, and the mailboxes the devices may open. */
  readers?: { protocols: readonly MailProtocol[]; mailboxes: readonly string[] };
}

function readCa(file: string | undefined): string | undefined {
  return file ? readFileSync(file, 'utf8') : undefined;
}

function urlEndpoint(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : u.protocol === 'http:' ? 80 : 443 };
}

export async function checkUpstream(add: AddCheck, name: string, cfg: UpstreamConfig, o: UpstreamCheckOptions): Promise<void> {
  const id = `upstream.${name}`;
  switch (cfg.type) {
    case 'capture':
      add({ id: `${id}.capture`, status: 'info', title: T.capture });
      return;
    case 'smtp':
      return checkSmtp(add, id, cfg, o);
    case 'graph':
      return checkGraph(add, id, name, cfg, o);
    case 'smtp-oauth':
      return checkSmtpOauth(add, id, name, cfg, o);
    case 'direct-send':
      return checkDirectSendUpstream(add, id, cfg, o);
    case 'exchange-mailbox':
      return checkMailboxUpstream(add, id, name, cfg, { tokens: o.tokens, timeoutMs: o.timeoutMs, now: o.now, protocols: o.readers?.protocols ?? [], mailboxes: o.readers?.mailboxes ?? [] });
  }
}

async function checkSmtp(add: AddCheck, id: string, cfg: SmtpUpstreamConfig, o: UpstreamCheckOptions): Promise<void> {
  await checkEndpoint(add, {
    id, host: cfg.host, port: cfg.port, servername: cfg.servername, tls: cfg.tls, ca: readCa(cfg.ca),
    timeoutMs: Math.min(o.timeoutMs, cfg.connectTimeout), certificateUnchecked: !cfg.rejectUnauthorized,
  });
  if (!cfg.rejectUnauthorized) {
    add({ id: `${id}.verify`, status: 'warn', title: T.verifyOff, fix: T.verifyOffFix });
  }
}

async function checkGraph(add: AddCheck, id: string, name: string, cfg: GraphUpstreamConfig, o: UpstreamCheckOptions): Promise<void> {
  const ep = resolveEndpoints(cfg);
  const ca = readCa(cfg.ca);
  const signIn = urlEndpoint(ep.authorityHost);
  const graph = urlEndpoint(ep.graphUrl);
  let reachable = true;
  if (cfg.proxy) add({ id: `${id}.proxy`, status: 'info', title: both(T.proxyGraph, { host: new URL(cfg.proxy).host }) });
  else {
    reachable = await checkEndpoint(add, { id: `${id}.sign-in`, ...signIn, tls: 'implicit', ca, timeoutMs: o.timeoutMs });
    if (graph.host !== signIn.host || graph.port !== signIn.port) reachable = (await checkEndpoint(add, { id: `${id}.graph`, ...graph, tls: 'implicit', ca, timeoutMs: o.timeoutMs })) && reachable;
  }
  checkCredential(add, id, cfg, o.now);
  if (!reachable) {
    add({ id: `${id}.token`, status: 'info', title: T.unreachableSkip });
    return;
  }
  const token = await checkToken(add, id, name, cfg, 'graph', await o.tokens(), o.timeoutMs);
  if (token) await checkGraphAccess(add, id, name, cfg, ep.graphUrl, token, o.timeoutMs);
  await checkSentItems(add, { id, name, cfg, graphUrl: ep.graphUrl, token, mailboxes: o.mailboxes ?? (cfg.mailbox ? [cfg.mailbox] : []), timeoutMs: o.timeoutMs });
}

async function checkSmtpOauth(add: AddCheck, id: string, name: string, cfg: SmtpOauthUpstreamConfig, o: UpstreamCheckOptions): Promise<void> {
  const ep = resolveEndpoints(cfg);
  const ca = readCa(cfg.ca);
  const signIn = urlEndpoint(ep.authorityHost);
  const smtpPort = ep.smtpPort ?? cfg.port;
  const timeoutMs = Math.min(o.timeoutMs, cfg.connectTimeout);
  let reachable = cfg.proxy
    ? (add({ id: `${id}.proxy`, status: 'info', title: both(T.proxySignIn, { host: new URL(cfg.proxy).host }) }), true)
    : await checkEndpoint(add, { id: `${id}.sign-in`, ...signIn, tls: 'implicit', ca, timeoutMs });
  reachable = (await checkEndpoint(add, { id: `${id}.smtp`, host: ep.smtpHost, port: smtpPort, tls: 'starttls', ca, timeoutMs })) && reachable;
  checkCredential(add, id, cfg, o.now);
  if (!reachable) {
    add({ id: `${id}.token`, status: 'info', title: T.unreachableSkip });
    return;
  }
  const token = await checkToken(add, id, name, cfg, 'smtp', await o.tokens(), o.timeoutMs);
  if (token && checkSmtpPermission(add, id, name, cfg, token)) await checkSmtpSignIn(add, id, name, cfg, ep.smtpHost, smtpPort, token, timeoutMs);
  // Sent Items goes through Graph, with a token of the same app (a delegated sign-in has none: keep is implied).
  if (cfg.delegated) return;
  const graph = cfg.sentItems === 'delete'
    ? await checkToken(add, `${id}.graph`, name, cfg, 'graph', await o.tokens(), o.timeoutMs)
    : await o.tokens().then((t) => t.get(name, cfg, 'graph').getToken(AbortSignal.timeout(o.timeoutMs))).catch(() => undefined);
  await checkSentItems(add, { id, name, cfg, graphUrl: ep.graphUrl, token: graph, mailboxes: o.mailboxes ?? (cfg.mailbox ? [cfg.mailbox] : []), timeoutMs: o.timeoutMs });
}

async function checkDirectSendUpstream(add: AddCheck, id: string, cfg: DirectSendUpstreamConfig, o: UpstreamCheckOptions): Promise<void> {
  await checkDirectSend(add, id, cfg, { publicIp: o.publicIp, timeoutMs: Math.min(o.timeoutMs, cfg.connectTimeout), ca: readCa(cfg.ca) });
}
