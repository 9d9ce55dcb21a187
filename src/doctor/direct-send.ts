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
import { directSendWarnings, foreignMxWarning } from '../deliver/direct-send/warnings.js';
import { checkEndpoint } from './network.js';
import { checkSpf, spfResolver, suggestSpf } from './spf.js';
import type { AddCheck } from './report.js';

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
      id: `${id}.mx`, status: 'fail', title: cfg.mx ? `the configured mx ${cfg.mx} does not resolve (${code})` : `no MX host found for ${cfg.domain} (${code})`,
      detail: (err as Error).message,
      fix: `Check the domain; its MX record should name <domain-with-dashes>.mail.protection.outlook.com (Microsoft 365 admin center → Settings → Domains → ${cfg.domain} → DNS records), or set mx.`,
    });
    return;
  }
  const how = target.source === 'config' ? 'configured mx' : `MX of ${cfg.domain}`;
  if (isMicrosoftMx(target.host) || isIP(target.host)) {
    add({
      id: `${id}.mx`, status: isMicrosoftMx(target.host) ? 'pass' : 'warn', title: `${how}: ${target.host} (${target.address})`,
      ...(isMicrosoftMx(target.host) ? {} : { fix: `Direct Send normally goes to Microsoft's host for ${cfg.domain} (<domain-with-dashes>.mail.protection.outlook.com); an address is fine for a test.` }),
    });
  } else {
    add({ id: `${id}.mx`, status: 'warn', title: `${how}: ${target.host} is not a *.mail.protection.outlook.com host`, detail: foreignMxWarning(cfg.domain, target.host), fix: `Set mx to ${cfg.domain.replace(/\./g, '-')}.mail.protection.outlook.com if the domain is in Microsoft 365.` });
  }
  await checkEndpoint(add, {
    id: `${id}.mx`, host: target.address, port: target.port ?? cfg.port,
    servername: target.address !== target.host ? target.host : undefined, tls: 'starttls', ca: o.ca, timeoutMs: o.timeoutMs,
    certificateUnchecked: !cfg.rejectUnauthorized,
  });
  await checkSpfRecord(add, id, cfg, o.publicIp);
  const rejectWarning = directSendWarnings(cfg).find((w) => w.includes('RejectDirectSend'));
  add({
    id: `${id}.reject-direct-send`, status: 'warn', title: 'Direct Send stops working if the tenant turns on RejectDirectSend (doctor cannot see this setting)',
    detail: rejectWarning ?? '',
    fix: 'Check in Exchange Online PowerShell: Get-OrganizationConfig | Select RejectDirectSend. If True, add an inbound connector for this site\'s public IP, or use a graph or smtp-oauth upstream.',
  });
}

async function checkSpfRecord(add: AddCheck, id: string, cfg: DirectSendUpstreamConfig, publicIp: string | undefined): Promise<void> {
  const resolver = spfResolver(cfg.dnsServers);
  if (!publicIp) {
    add({
      id: `${id}.spf`, status: 'info', title: `SPF of ${cfg.domain} not evaluated: give this site's public IP with --public-ip A.B.C.D`,
      detail: 'Microsoft 365 treats Direct Send mail as spoofed unless the SPF record of the sender domain includes the public IP address it comes from.',
    });
    return;
  }
  if (!isIP(publicIp)) {
    add({ id: `${id}.spf`, status: 'fail', title: `--public-ip ${publicIp} is not an IP address`, fix: 'Give the address the relay\'s mail leaves from (see https://ifconfig.me from this machine), e.g. --public-ip 203.0.113.7' });
    return;
  }
  const v = await checkSpf(resolver, cfg.domain, publicIp);
  const suggested = suggestSpf(v.record, publicIp);
  const publish = `Publish this TXT record for ${cfg.domain} (replacing the old SPF record): "${suggested}"`;
  const detail = [v.record ? `record: "${v.record}"` : `no SPF record at ${cfg.domain}`, v.matched ? `decided by: ${v.matched}` : '', v.reason ?? ''].filter(Boolean).join('\n');
  switch (v.result) {
    case 'pass':
      add({ id: `${id}.spf`, status: 'pass', title: `SPF of ${cfg.domain} authorises ${publicIp}`, detail });
      return;
    case 'unsupported':
    case 'temperror':
      add({ id: `${id}.spf`, status: 'warn', title: `SPF of ${cfg.domain} could not be evaluated for ${publicIp} (${v.result})`, detail, fix: `Check the record by hand; it must authorise ${publicIp}, e.g. "${suggested}"` });
      return;
    default:
      add({
        id: `${id}.spf`, status: 'fail',
        title: v.result === 'none' ? `${cfg.domain} has no SPF record: Direct Send mail from ${publicIp} looks spoofed`
          : v.result === 'permerror' ? `the SPF record of ${cfg.domain} is broken (permerror)`
            : `SPF of ${cfg.domain} does not authorise ${publicIp} (${v.result})`,
        detail, fix: publish,
      });
  }
}
