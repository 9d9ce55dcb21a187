/**
 * What the SMTP probe (smtp-probe.ts) found, turned into settings and words:
 * the safest `tls` mode that works (TLS from the first byte, else STARTTLS,
 * else none, which is a downgrade the wizard asks about), the AUTH
 * mechanisms where the relay would sign in, what stops the proposal from
 * working (an untrusted certificate, a name it does not carry) with what to
 * do, and notes. describeProbe() and checkSettings() give the lines
 * `authrelay init` prints and the console shows, in the reader's language
 * (texts.ts); the console also renders the structured result itself.
 */
import type { Lang, Text } from '../../core/i18n.js';
import { WIZARD_TEXT as T, wz, type WizardValues } from './texts.js';


export interface CertificateInfo {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  /** DNS names and addresses the certificate is for. */
  names: string[];
  selfSigned: boolean;
  expired: boolean;
  /** Trusted by the system's CAs and the given ones (as the transport will check it). */
  trusted: boolean;
  /** Why not, as OpenSSL says it (e.g. DEPTH_ZERO_SELF_SIGNED_CERT, CERT_HAS_EXPIRED). */
  trustError?: string;
  /** It names the host (or servername). */
  hostnameMatch: boolean;
  hostnameError?: string;
}

export interface TlsInfo {
  /** The handshake worked. */
  ok: boolean;
  version?: string;
  cipher?: string;
  certificate?: CertificateInfo;
  /** Why the handshake or the session over it failed. */
  error?: string;
}

export interface EhloInfo {
  /** The capability lines (without the host line). */
  lines: string[];
  starttls: boolean;
  auth: string[];
  size?: number;
  eightBitMime: boolean;
  smtpUtf8: boolean;
}

export interface SmtpProbe {
  host: string;
  port: number;
  /** How the upstream answered with a greeting: in the clear, or after TLS from the first byte. */
  connected?: 'plain' | 'implicit';
  greeting?: string;
  /** The EHLO answer in the clear (plain), or over TLS from the first byte (implicit). */
  ehlo?: EhloInfo;
  /** STARTTLS, when the plain EHLO offered it: the handshake, and EHLO again over TLS. */
  starttls?: TlsInfo & { ehlo?: EhloInfo };
  /** TLS from the first byte, when it was tried. */
  implicit?: TlsInfo;
  /** Why no greeting came (DNS, refused, timeout, a refusal instead of 220). */
  error?: string;
  proposal: Proposal;
}

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
  /** The problem in words, with its details (English). */
  detail?: string;
  /** What to do about the problem (English). */
  fix?: string;
  /** detail and fix in both languages. */
  text?: { detail: Text; fix: Text };
  warnings: ProbeNote[];
  /** Largest message the upstream takes (SIZE), in bytes. */
  maxSize?: number;
  /** The proposed mode works as the relay will use it. */
  ok: boolean;
}

function both(text: Text, values?: WizardValues): Text {
  return { en: wz(text, 'en', values), ja: wz(text, 'ja', values) };
}

/** detail and fix of a problem, in both languages and (for API answers as they were) in English. */
function problemOf(problem: ProbeProblem, detail: Text, fix: Text): Pick<Proposal, 'problem' | 'detail' | 'fix' | 'text'> {
  return { problem, detail: detail.en, fix: fix.en, text: { detail, fix } };
}

export function proposeSettings(p: SmtpProbe): Proposal {
  if (!p.connected) {
    const reached = p.greeting !== undefined;
    const said = p.error ?? p.greeting;
    const detail = reached ? both(T.probeNoGreeting, { host: p.host, port: p.port, said })
      : said ? both(T.probeUnreachable, { host: p.host, port: p.port, said })
        : { en: wz(T.probeUnreachable, 'en', { host: p.host, port: p.port, said: T.probeNoGreetingWord.en }), ja: wz(T.probeUnreachable, 'ja', { host: p.host, port: p.port, said: T.probeNoGreetingWord.ja }) };
    return { downgrade: false, authMethods: [], warnings: [], ok: false, ...problemOf(reached ? 'no-greeting' : 'unreachable', detail, T.probeConnectFix) };
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
  const pick = (value: string | undefined, otherwise: Text): Text => (value ? { en: value, ja: value } : otherwise);
  if (secure && !secure.ok) {
    const error = pick(secure.error, T.probeUnknownError);
    Object.assign(proposal, { ok: false, ...problemOf('tls-failed', { en: wz(T.probeTlsFailed, 'en', { error: error.en }), ja: wz(T.probeTlsFailed, 'ja', { error: error.ja }) }, T.probeTlsFailedFix) });
  } else if (cert && cert.expired) {
    Object.assign(proposal, { ok: false, ...problemOf('expired', both(T.probeExpired, { date: cert.validTo.slice(0, 10) }), T.probeExpiredFix) });
  } else if (cert && !cert.trusted) {
    const error = pick(cert.trustError, T.probeUnknownIssuer);
    const issuer = pick(cert.issuer, T.probeUnknown);
    const detail = { en: wz(T.probeUntrusted, 'en', { error: error.en, issuer: issuer.en }), ja: wz(T.probeUntrusted, 'ja', { error: error.ja, issuer: issuer.ja }) };
    Object.assign(proposal, { ok: false, ...problemOf('untrusted', detail, cert.selfSigned ? T.probeUntrustedSelfSignedFix : T.probeUntrustedFix) });
  } else if (cert && !cert.hostnameMatch) {
    const detail = both(T.probeHostname, { host: p.host, names: cert.names.join(', ') || cert.subject });
    Object.assign(proposal, { ok: false, ...problemOf('hostname', detail, cert.names[0] ? both(T.probeHostnameFixNamed, { name: cert.names[0] }) : T.probeHostnameFix) });
  }
  return proposal;
}

const NOTES: Record<ProbeNote, Text> = {
  'no-tls': T.noteNoTls,
  'no-auth': T.noteNoAuth,
  'auth-after-tls': T.noteAuthAfterTls,
  'no-smtputf8': T.noteNoSmtputf8,
  'no-8bitmime': T.noteNo8bitmime,
};

export function noteText(note: ProbeNote, lang: Lang = 'en'): string {
  return NOTES[note][lang];
}

function offers(e: SmtpProbe['ehlo'], lang: Lang): string {
  return e?.lines.length ? e.lines.join(', ') : wz(T.probeNothing, lang);
}

/** The probe in lines, as `authrelay init` prints them (in the reader's language; the server's own words as they are). */
export function describeProbe(p: SmtpProbe, lang: Lang = 'en'): string[] {
  const out: string[] = [];
  const pr = p.proposal;
  const detail = pr.text?.detail[lang] ?? pr.detail;
  const fix = pr.text?.fix[lang] ?? pr.fix;
  if (!p.connected) {
    out.push(`  ✗ ${detail ?? wz(T.probeNothingAnswered, lang, { host: p.host, port: p.port })}`);
    if (fix) out.push(wz(T.probeWhatToDo, lang, { fix }));
    return out;
  }
  out.push(wz(T.probeGreeting, lang, { mode: wz(p.connected === 'implicit' ? T.probeModeImplicit : T.probeModePlain, lang), text: p.greeting?.split('\n')[0] ?? '' }));
  out.push(wz(T.probeOffers, lang, { list: offers(p.ehlo, lang) }));
  const tls = p.connected === 'implicit' ? p.implicit : p.starttls;
  if (p.connected === 'plain') out.push(p.starttls ? `  STARTTLS: ${p.starttls.ok ? `✓ ${p.starttls.version} ${p.starttls.cipher}` : `✗ ${p.starttls.error}`}` : wz(T.probeStarttlsNone, lang));
  else out.push(`  TLS: ✓ ${p.implicit?.version} ${p.implicit?.cipher}`);
  if (p.starttls?.ehlo) out.push(wz(T.probeOffersTls, lang, { list: offers(p.starttls.ehlo, lang) }));
  const cert = tls?.certificate;
  if (cert) {
    out.push(wz(T.probeCertificate, lang, {
      subject: cert.subject, issuer: cert.issuer, from: cert.validFrom.slice(0, 10), to: cert.validTo.slice(0, 10),
      names: cert.names.length ? wz(T.probeCertNames, lang, { names: cert.names.join(', ') }) : '',
    }));
    const trusted = cert.trusted ? wz(T.probeTrusted, lang) : wz(T.probeNotTrusted, lang, { error: cert.trustError });
    const named = wz(cert.hostnameMatch ? T.probeNamesHost : T.probeNotNamesHost, lang, { host: p.host });
    out.push(`    ${trusted}${lang === 'ja' ? '、' : '; '}${named}`);
  }
  out.push(wz(T.probeProposed, lang, {
    tls: pr.tls,
    auth: pr.authMethods.length ? wz(T.probeProposedAuth, lang, { methods: pr.authMethods.join(' ') }) : '',
    size: pr.maxSize ? wz(T.probeProposedSize, lang, { mb: Math.floor(pr.maxSize / 1_048_576) }) : '',
  }));
  for (const w of pr.warnings) out.push(`  ${w === 'auth-after-tls' ? '-' : '!'} ${noteText(w, lang)}`);
  if (pr.problem) {
    out.push(`  ✗ ${detail}`);
    if (fix) out.push(wz(T.probeWhatToDo, lang, { fix }));
  }
  return out;
}

/** What the settings about to be written will do with this upstream: ok, and the lines that say so. */
export function checkSettings(p: SmtpProbe, s: { tls: ProbeTls; rejectUnauthorized?: boolean }, lang: Lang = 'en'): { ok: boolean; lines: string[] } {
  const where = `${p.host}:${p.port}`;
  if (!p.connected) return { ok: false, lines: [wz(T.settingsUnreachable, lang, { where, said: p.error ?? wz(T.probeNoGreetingWord, lang) })] };
  const pr = p.proposal;
  const checkCert = s.rejectUnauthorized !== false;
  const certOnly = pr.problem === 'untrusted' || pr.problem === 'hostname' || pr.problem === 'expired';
  if (s.tls === pr.tls && (pr.ok || (!checkCert && certOnly))) {
    return { ok: true, lines: [wz(pr.ok ? T.settingsOk : T.settingsOkUnchecked, lang, { where, tls: s.tls })] };
  }
  if (s.tls === 'none' && p.connected === 'plain') {
    return { ok: true, lines: [wz(T.settingsOk, lang, { where, tls: 'none' }), wz(T.settingsNoneButOffered, lang, { offer: pr.tls === 'starttls' ? 'STARTTLS' : 'TLS', tls: pr.tls })] };
  }
  // The problem and what to do were said with the probe (describeProbe) just before.
  if (s.tls === pr.tls) return { ok: false, lines: [wz(T.settingsNotYet, lang, { tls: s.tls, detail: pr.text?.detail[lang] ?? pr.detail })] };
  const why = s.tls === 'starttls' ? (p.connected === 'implicit' ? T.whyImplicit : T.whyNoStarttls)
    : s.tls === 'implicit' ? T.whyPlain : T.whyImplicit;
  return { ok: false, lines: [wz(T.settingsWrongMode, lang, { tls: s.tls, where, why: wz(why, lang), proposed: pr.tls })] };
}
