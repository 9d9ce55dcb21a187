/**
 * What the SMTP probe (smtp-probe.ts) found, turned into settings and words:
 * the safest `tls` mode that works (TLS from the first byte, else STARTTLS,
 * else none, which is a downgrade the wizard asks about), the AUTH
 * mechanisms where the relay would sign in, what stops the proposal from
 * working (an untrusted certificate, a name it does not carry) with what to
 * do, and notes. describeProbe() and checkSettings() give the lines
 * `authrelay init` prints and the console shows; the console also renders
 * the structured result in Japanese.
 */
import type { SmtpProbe } from './smtp-probe.js';

export type ProbeTls = 'starttls' | 'implicit' | 'none';

/** Why the proposed mode would not work as the relay will use it (the console has words for each, in English and Japanese). */
export const PROBE_PROBLEMS = ['unreachable', 'no-greeting', 'tls-failed', 'untrusted', 'expired', 'hostname'] as const;
export type ProbeProblem = (typeof PROBE_PROBLEMS)[number];

/** Notes about what the upstream offers. */
export const PROBE_NOTES = ['no-tls', 'no-auth', 'auth-after-tls', 'no-smtputf8', 'no-8bitmime'] as const;
export type ProbeNote = (typeof PROBE_NOTES)[number];

export interface Proposal {
  /** The safest mode that works; undefined when nothing answered. */
  tls?: ProbeTls;
  /** tls: none — mail (and any password) would cross the network unencrypted: ask first. */
  downgrade: boolean;
  /** AUTH mechanisms offered where the relay would sign in (over TLS when there is TLS). */
  authMethods: string[];
  problem?: ProbeProblem;
  /** The problem in words, with its details. */
  detail?: string;
  /** What to do about the problem. */
  fix?: string;
  warnings: ProbeNote[];
  /** Largest message the upstream takes (SIZE), in bytes. */
  maxSize?: number;
  /** The proposed mode works as the relay will use it. */
  ok: boolean;
}

const CONNECT_FIX = 'Check the host name and port (a port-465 server needs TLS from the first byte; 25 and 587 use STARTTLS), that the upstream runs, and that a firewall lets this machine out (internet providers often block outbound port 25).';

export function proposeSettings(p: SmtpProbe): Proposal {
  if (!p.connected) {
    const reached = p.greeting !== undefined;
    return {
      downgrade: false, authMethods: [], warnings: [], ok: false,
      problem: reached ? 'no-greeting' : 'unreachable',
      detail: reached ? `${p.host}:${p.port} did not greet (${p.error ?? p.greeting})` : `nothing answered at ${p.host}:${p.port} (${p.error ?? 'no greeting'})`,
      fix: CONNECT_FIX,
    };
  }
  const tls: ProbeTls = p.connected === 'implicit' ? 'implicit' : p.starttls ? 'starttls' : 'none';
  const secure = tls === 'implicit' ? p.implicit : tls === 'starttls' ? p.starttls : undefined;
  const ehlo = (tls === 'starttls' ? p.starttls?.ehlo : undefined) ?? p.ehlo;
  const warnings: ProbeNote[] = [];
  if (tls === 'none') warnings.push('no-tls');
  if (!ehlo?.auth.length) warnings.push('no-auth');
  else if (tls === 'starttls' && !p.ehlo?.auth.length) warnings.push('auth-after-tls');
  if (ehlo && !ehlo.smtpUtf8) warnings.push('no-smtputf8');
  if (ehlo && !ehlo.eightBitMime) warnings.push('no-8bitmime');
  const proposal: Proposal = {
    tls, downgrade: tls === 'none', authMethods: ehlo?.auth ?? [], warnings, ok: true,
    ...(ehlo?.size ? { maxSize: ehlo.size } : {}),
  };
  const cert = secure?.certificate;
  if (secure && !secure.ok) {
    Object.assign(proposal, {
      ok: false, problem: 'tls-failed', detail: `the TLS handshake failed (${secure.error ?? 'unknown error'})`,
      fix: 'The upstream may only speak old TLS versions or ciphers, or its TLS is broken: ask its administrator. Writing tls: none instead would send mail unencrypted.',
    });
  } else if (cert && cert.expired) {
    Object.assign(proposal, {
      ok: false, problem: 'expired', detail: `the upstream's certificate expired on ${cert.validTo.slice(0, 10)}`,
      fix: 'Renew the certificate on the upstream; the relay sends nothing over a connection with an expired certificate.',
    });
  } else if (cert && !cert.trusted) {
    Object.assign(proposal, {
      ok: false, problem: 'untrusted', detail: `the upstream's certificate is not trusted (${cert.trustError ?? 'unknown issuer'}; issued by ${cert.issuer || 'unknown'})`,
      fix: cert.selfSigned
        ? 'Trust the upstream\'s own certificate: give its PEM file as the CA certificate (authrelay init --ca FILE; the upstream\'s ca: setting), or give the upstream a certificate from a public or your private CA.'
        : 'Give the certificate of the CA that issued it as a PEM file (authrelay init --ca FILE; the upstream\'s ca: setting). Leave certificate checking on.',
    });
  } else if (cert && !cert.hostnameMatch) {
    Object.assign(proposal, {
      ok: false, problem: 'hostname', detail: `the certificate does not name ${p.host} (it names ${cert.names.join(', ') || cert.subject})`,
      fix: `Connect by a name the certificate carries${cert.names[0] ? ` (${cert.names[0]})` : ''}, or set servername: to that name in the upstream.`,
    });
  }
  return proposal;
}

const NOTES: Record<ProbeNote, string> = {
  'no-tls': 'The upstream offers neither STARTTLS nor TLS on connect: mail (and a password, if one is set) would cross the network unencrypted.',
  'no-auth': 'It offers no AUTH: it must accept the relay by its address (its relay settings, a connector).',
  'auth-after-tls': 'It offers AUTH only after STARTTLS (good: a password never crosses in the clear).',
  'no-smtputf8': 'It does not offer SMTPUTF8: messages to or from addresses such as müller@ or 山田@ will fail there with the reason (all other mail is fine).',
  'no-8bitmime': 'It does not offer 8BITMIME: 8-bit messages go out as they are, without BODY=8BITMIME.',
};

export function noteText(note: ProbeNote): string {
  return NOTES[note];
}

function offers(e: SmtpProbe['ehlo']): string {
  return e?.lines.length ? e.lines.join(', ') : '(nothing)';
}

/** The probe in lines, as `authrelay init` prints them (English). */
export function describeProbe(p: SmtpProbe): string[] {
  const out: string[] = [];
  if (!p.connected) {
    out.push(`  ✗ ${p.proposal.detail ?? `nothing answered at ${p.host}:${p.port}`}`);
    if (p.proposal.fix) out.push(`    What to do: ${p.proposal.fix}`);
    return out;
  }
  out.push(`  Greeting (${p.connected === 'implicit' ? 'TLS from the first byte' : 'in the clear'}): ${p.greeting?.split('\n')[0] ?? ''}`);
  out.push(`  Offers: ${offers(p.ehlo)}`);
  const tls = p.connected === 'implicit' ? p.implicit : p.starttls;
  if (p.connected === 'plain') out.push(p.starttls ? `  STARTTLS: ${p.starttls.ok ? `✓ ${p.starttls.version} ${p.starttls.cipher}` : `✗ ${p.starttls.error}`}` : '  STARTTLS: not offered');
  else out.push(`  TLS: ✓ ${p.implicit?.version} ${p.implicit?.cipher}`);
  if (p.starttls?.ehlo) out.push(`  Offers over TLS: ${offers(p.starttls.ehlo)}`);
  const cert = tls?.certificate;
  if (cert) {
    out.push(`  Certificate: ${cert.subject}; issued by ${cert.issuer}; valid ${cert.validFrom.slice(0, 10)} to ${cert.validTo.slice(0, 10)}${cert.names.length ? `; names ${cert.names.join(', ')}` : ''}`);
    out.push(`    ${cert.trusted ? '✓ trusted' : `✗ not trusted (${cert.trustError})`}; ${cert.hostnameMatch ? `✓ names ${p.host}` : `✗ does not name ${p.host}`}`);
  }
  const pr = p.proposal;
  out.push(`  Proposed: tls: ${pr.tls}${pr.authMethods.length ? `; AUTH ${pr.authMethods.join(' ')} offered (add upstreams.relay.auth if the upstream wants a sign-in)` : ''}${pr.maxSize ? `; messages up to ${Math.floor(pr.maxSize / 1_048_576)} MB` : ''}`);
  for (const w of pr.warnings) out.push(`  ${w === 'auth-after-tls' ? '-' : '!'} ${noteText(w)}`);
  if (pr.problem) {
    out.push(`  ✗ ${pr.detail}`);
    if (pr.fix) out.push(`    What to do: ${pr.fix}`);
  }
  return out;
}

/** What the settings about to be written will do with this upstream: ok, and the lines that say so. */
export function checkSettings(p: SmtpProbe, s: { tls: ProbeTls; rejectUnauthorized?: boolean }): { ok: boolean; lines: string[] } {
  const where = `${p.host}:${p.port}`;
  if (!p.connected) return { ok: false, lines: [`  ✗ the relay cannot reach ${where} (${p.error ?? 'no greeting'}).`] };
  const pr = p.proposal;
  const checkCert = s.rejectUnauthorized !== false;
  const certOnly = pr.problem === 'untrusted' || pr.problem === 'hostname' || pr.problem === 'expired';
  if (s.tls === pr.tls && (pr.ok || (!checkCert && certOnly))) {
    const unchecked = !pr.ok ? ' (the certificate is not checked: rejectUnauthorized is off)' : '';
    return { ok: true, lines: [`  ✓ the relay can deliver to ${where} with tls: ${s.tls}${unchecked}.`] };
  }
  if (s.tls === 'none' && p.connected === 'plain') {
    return { ok: true, lines: [`  ✓ the relay can deliver to ${where} with tls: none.`, `  ! The upstream offers ${pr.tls === 'starttls' ? 'STARTTLS' : 'TLS'}; tls: ${pr.tls} would protect the mail.`] };
  }
  // The problem and what to do were said with the probe (describeProbe) just before.
  if (s.tls === pr.tls) return { ok: false, lines: [`  ✗ tls: ${s.tls} will not work yet: ${pr.detail}.`] };
  const why = s.tls === 'starttls' ? (p.connected === 'implicit' ? 'it speaks TLS from the first byte' : 'it does not offer STARTTLS')
    : s.tls === 'implicit' ? 'it greets in the clear on this port' : 'it speaks TLS from the first byte';
  return { ok: false, lines: [`  ✗ tls: ${s.tls} will not work with ${where}: ${why}. Use tls: ${pr.tls}.`] };
}
