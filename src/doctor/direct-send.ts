/**
 * Direct Send checks for `doctor`: the MX host (found the way the transport
 * finds it, through the configured DNS servers), a connection with STARTTLS
 * to it, the domain's SPF record evaluated for the relay's public IP
 * (`--public-ip`) with a corrected record suggested, and the tenant setting
 * that refuses Direct Send.
 */
import { isIP } from 'node:net';
import type { DirectSendUpstreamConfig } from '../config/schema.js';
import { isMicrosoftMx, MxLookup, type MxTarget } from '../deliver/direct-send/mx.js';
import { directSendWarningTexts, DIRECT_SEND_TEXT, foreignMxText } from '../deliver/direct-send/warnings-text.js';
import { asIs, joinTexts, NO_TEXT } from '../core/i18n.js';
import { checkEndpoint } from './network.js';
import { checkSpf, spfResolver, suggestSpf } from './spf.js';
import type { AddCheck } from './report.js';
import { both, DOCTOR_TEXT as T } from './texts.js';

export interface DirectSendCheckOptions {
  publicIp: string | undefined;
  timeoutMs: number;
  ca: string | undefined;
}

export async function checkDirectSend(add: AddCheck, id: string, cfg: DirectSendUpstreamConfig, o: DirectSendCheckOptions): Promise<void> {
  let target: MxTarget | undefined;
  try {
    target = await new MxLookup({ domain: cfg.domain, ...(cfg.mx ? { mx: cfg.mx } : {}), ...(cfg.dnsServers ? { dnsServers: cfg.dnsServers } : {}) }).resolve();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
    add({
      id: `${id}.mx`, status: 'fail', title: cfg.mx ? both(T.mxConfiguredFail, { mx: cfg.mx, code }) : both(T.mxNotFound, { domain: cfg.domain, code }),
      detail: asIs((err as Error).message),
      fix: both(T.mxFailFix, { domain: cfg.domain }),
    });
    return;
  }
  const configured = target.source === 'config';
  const found = { domain: cfg.domain, host: target.host, address: target.address };
  if (isMicrosoftMx(target.host) || isIP(target.host)) {
    add({
      id: `${id}.mx`, status: isMicrosoftMx(target.host) ? 'pass' : 'warn', title: both(configured ? T.mxConfigured : T.mxOfDomain, found),
      ...(isMicrosoftMx(target.host) ? {} : { fix: both(T.mxAddressFix, { domain: cfg.domain }) }),
    });
  } else {
    add({
      id: `${id}.mx`, status: 'warn', title: both(configured ? T.mxConfiguredForeign : T.mxOfDomainForeign, found),
      detail: foreignMxText(cfg.domain, target.host), fix: both(T.mxForeignFix, { mx: `${cfg.domain.replace(/\./g, '-')}.mail.protection.outlook.com` }),
    });
  }
  await checkEndpoint(add, {
    id: `${id}.mx`, host: target.address, port: target.port ?? cfg.port,
    servername: target.address !== target.host ? target.host : undefined, tls: 'starttls', ca: o.ca, timeoutMs: o.timeoutMs,
    certificateUnchecked: !cfg.rejectUnauthorized,
  });
  await checkSpfRecord(add, id, cfg, o.publicIp);
  const rejectWarning = directSendWarningTexts(cfg).find((w) => w === DIRECT_SEND_TEXT.rejectDirectSend);
  add({ id: `${id}.reject-direct-send`, status: 'warn', title: T.rejectDirectSend, detail: rejectWarning ?? NO_TEXT, fix: T.rejectDirectSendFix });
}

async function checkSpfRecord(add: AddCheck, id: string, cfg: DirectSendUpstreamConfig, publicIp: string | undefined): Promise<void> {
  const resolver = spfResolver(cfg.dnsServers);
  if (!publicIp) {
    add({ id: `${id}.spf`, status: 'info', title: both(T.spfNoIp, { domain: cfg.domain }), detail: T.spfNoIpDetail });
    return;
  }
  if (!isIP(publicIp)) {
    add({ id: `${id}.spf`, status: 'fail', title: both(T.spfBadIp, { ip: publicIp }), fix: T.spfBadIpFix });
    return;
  }
  const v = await checkSpf(resolver, cfg.domain, publicIp);
  const suggested = suggestSpf(v.record, publicIp);
  const values = { domain: cfg.domain, ip: publicIp, result: v.result, record: suggested };
  const publish = both(T.spfPublish, values);
  // The decisive term and the evaluator's reason are SPF's own words (terms, domains), shown as they are.
  const detail = joinTexts([
    v.record ? both(T.spfRecord, { record: v.record }) : both(T.spfNoRecord, values),
    v.matched ? both(T.spfDecidedBy, { matched: v.matched }) : undefined,
    v.reason ? asIs(v.reason) : undefined,
  ]);
  switch (v.result) {
    case 'pass':
      add({ id: `${id}.spf`, status: 'pass', title: both(T.spfPass, values), detail });
      return;
    case 'unsupported':
    case 'temperror':
      add({ id: `${id}.spf`, status: 'warn', title: both(T.spfUnevaluated, values), detail, fix: both(T.spfUnevaluatedFix, values) });
      return;
    default:
      add({
        id: `${id}.spf`, status: 'fail',
        title: both(v.result === 'none' ? T.spfNone : v.result === 'permerror' ? T.spfBroken : T.spfFail, values),
        detail, fix: publish,
      });
  }
}
