/**
 * /api/v1/wizard/*: the Microsoft 365 setup wizard of the console, the same
 * wizard as `authrelay init` (its steps, live test and commented config
 * document are reused from src/cli/init). `steps` lists what to do in Entra
 * ID and Exchange Online for the chosen route; `test` tests the credentials
 * live (token roles, MX lookup) or probes another SMTP relay (greeting,
 * STARTTLS or TLS on connect, certificate, AUTH) and proposes its `tls`;
 * `config` returns the validated YAML with the secret as a `${VARIABLE}`
 * reference, and with `write: true` also writes it to the relay's config file
 * (the previous file kept as FILE.bak) and applies it. Writing runs the live
 * test first and refuses (409 live-test-failed, nothing written) when it
 * fails, unless the person confirmed (`force: true`); `tls: none` to a relay
 * is written only with `allowNoTls: true`. The secret is never logged,
 * audited or sent back. Steps, lines and messages are in the language of
 * Accept-Language (English unless Japanese is preferred). Route `readers`
 * (legacy IMAP/POP3 readers) writes the exchange-mailbox upstream, adds its
 * IMAP/POP3 listeners and the device with its mailboxes, and leaves the
 * delivery routes as they are.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { isMap, isSeq, parseDocument } from '../../vendor/yaml.js';
import { addDevice, deviceIndex, editConfigFile } from '../../config/editor.js';
import { UserError } from '../../core/user-error.js';
import type { ReloadResult } from '../../core/reload-result.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import type { InitAnswers, RouteKind } from '../../config/wizard/answers.js';
import { buildDocument, UPSTREAM_NAME, validateDocument } from '../../config/wizard/config-document.js';
import { liveTest, probeOptions } from '../../config/wizard/live-test.js';
import { describeProbe } from '../../config/wizard/smtp-probe-proposal.js';
import { probeSmtp, type SmtpProbe } from '../../config/wizard/smtp-probe.js';
import { neededPermissions, setupSteps } from '../../config/wizard/steps.js';
import { actorName, principalOf, sendError } from '../auth/guard.js';
import { access, audit, type ApiDeps } from './context.js';
import { answerLang } from './localized.js';
import type { Lang } from '../../core/i18n.js';
import { WIZARD_TEXT as W, wz } from '../../config/wizard/texts.js';

const ROUTE_KINDS: RouteKind[] = ['graph', 'smtp-oauth', 'smtp-oauth-delegated', 'direct-send', 'smtp', 'hold', 'readers'];
const ENTRA_ROUTES = new Set<RouteKind>(['graph', 'smtp-oauth', 'smtp-oauth-delegated']);
const GUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const MAILBOX = '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$';
const ABSOLUTE = '^/';
const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;

/** What the console sends: the answers of `authrelay init`, one JSON object. */
export interface WizardBody {
  route: RouteKind;
  cloud?: 'global' | 'usgov' | 'usgov-dod' | 'china';
  tenant?: string;
  clientId?: string;
  credential?: 'secret' | 'certificate';
  /** The secret's value: used for the live test and the check only. */
  clientSecret?: string;
  /** The environment variable the relay reads the secret from. */
  secretEnv?: string;
  certFile?: string;
  keyFile?: string;
  mailbox?: string;
  domain?: string;
  dnsServers?: string[];
  relayHost?: string;
  /** The relay's TLS mode; without it the probe's proposal is used (test) or what the port suggests (config). */
  relayTls?: 'starttls' | 'implicit' | 'none';
  /** Consent to write `tls: none` for a relay (mail crosses the network unencrypted). */
  allowNoTls?: boolean;
  /** Write although the live test failed (the person confirmed). */
  force?: boolean;
  endpoints?: { authority?: string; graph?: string; smtp?: string; imap?: string; pop3?: string };
  ca?: string;
  listeners?: { host?: string; starttlsPort?: number; tlsPort?: number | null; legacyPort?: number | null };
  /** Route readers: the mailboxes the reader device may open. */
  mailboxes?: string[];
  /** Route readers: the IMAP and POP3 listeners (a port, or null for none), their TLS, and TLS 1.0/1.1 on them. */
  readers?: { imapPort?: number | null; pop3Port?: number | null; tls?: 'implicit' | 'starttls'; legacy?: boolean };
  device?: { name: string; networks: string[] };
  admin?: string;
  /** config only: write the YAML to the relay's config file. */
  write?: boolean;
}

const bodySchema = {
  type: 'object', required: ['route'], additionalProperties: false,
  properties: {
    route: { type: 'string', enum: ROUTE_KINDS },
    cloud: { type: 'string', enum: ['global', 'usgov', 'usgov-dod', 'china'] },
    tenant: { type: 'string', minLength: 3, maxLength: 255, pattern: '^[^@\\s/]+$' },
    clientId: { type: 'string', pattern: GUID },
    credential: { type: 'string', enum: ['secret', 'certificate'] },
    clientSecret: { type: 'string', minLength: 1, maxLength: 1024 },
    secretEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,99}$' },
    certFile: { type: 'string', maxLength: 1024, pattern: ABSOLUTE },
    keyFile: { type: 'string', maxLength: 1024, pattern: ABSOLUTE },
    mailbox: { type: 'string', maxLength: 320, pattern: MAILBOX },
    domain: { type: 'string', maxLength: 253, pattern: '^[^@\\s]+\\.[^@\\s]+$' },
    dnsServers: { type: 'array', maxItems: 4, items: { type: 'string', minLength: 1, maxLength: 100 } },
    relayHost: { type: 'string', minLength: 1, maxLength: 260, pattern: '^[^\\s:]+(:\\d{1,5})?$' },
    relayTls: { type: 'string', enum: ['starttls', 'implicit', 'none'] },
    allowNoTls: { type: 'boolean' },
    force: { type: 'boolean' },
    endpoints: { type: 'object', additionalProperties: false, properties: {
      authority: { type: 'string', maxLength: 500, pattern: '^https://[^\\s/]+' },
      graph: { type: 'string', maxLength: 500, pattern: '^https://[^\\s/]+' },
      smtp: { type: 'string', maxLength: 260, pattern: '^[^\\s:]+:\\d{1,5}$' },
      imap: { type: 'string', maxLength: 260, pattern: '^[^\\s:]+(:\\d{1,5})?$' },
      pop3: { type: 'string', maxLength: 260, pattern: '^[^\\s:]+(:\\d{1,5})?$' },
    } },
    ca: { type: 'string', maxLength: 1024, pattern: ABSOLUTE },
    listeners: { type: 'object', additionalProperties: false, properties: {
      host: { type: 'string', minLength: 1, maxLength: 100 }, starttlsPort: port,
      tlsPort: { type: ['integer', 'null'], minimum: 0, maximum: 65535 }, legacyPort: { type: ['integer', 'null'], minimum: 0, maximum: 65535 },
    } },
    mailboxes: { type: 'array', minItems: 1, maxItems: 50, items: { type: 'string', maxLength: 320, pattern: MAILBOX } },
    readers: { type: 'object', additionalProperties: false, properties: {
      // One schema with both types: in anyOf, type coercion would read null as port 0 (or 0 as null).
      imapPort: { type: ['integer', 'null'], minimum: 0, maximum: 65535 }, pop3Port: { type: ['integer', 'null'], minimum: 0, maximum: 65535 },
      tls: { type: 'string', enum: ['implicit', 'starttls'] }, legacy: { type: 'boolean' },
    } },
    device: { type: 'object', required: ['name', 'networks'], additionalProperties: false, properties: {
      name: { type: 'string', minLength: 1, maxLength: 100 },
      networks: { type: 'array', minItems: 1, maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 50 } },
    } },
    admin: { type: 'string', maxLength: 320, pattern: MAILBOX },
    write: { type: 'boolean' },
  },
} as const;

/** Writes the text to the file atomically, keeping the old file as FILE.bak. */
/**
 * Writes the wizard's route into the relay's configuration file: its
 * upstream, the routes and the notices address replace those of the file,
 * and its device is added when the file has none of that name; everything
 * else (devices, listeners, comments) stays. The previous file is kept as
 * FILE.bak. On the embedded default the file starts from `initialText`.
 */
function mergeWizardConfig(file: string, wizardText: string, upstream: string | undefined, initialText: string | undefined, readers: boolean): void {
  const made = parseDocument(wizardText);
  if (existsSync(file)) copyFileSync(file, `${file}.bak`);
  editConfigFile(file, (doc) => {
    if (upstream) {
      const node = made.getIn(['upstreams', upstream], true);
      if (!isMap(doc.get('upstreams'))) doc.set('upstreams', doc.createNode({}));
      doc.setIn(['upstreams', upstream], node);
    }
    if (readers) {
      // Legacy readers add their IMAP/POP3 listeners (replacing the wizard's own of the same name); delivery routes stay as they are.
      const mine = made.get('listeners');
      if (!isSeq(doc.get('listeners'))) doc.set('listeners', doc.createNode([]));
      const theirs = doc.get('listeners');
      if (isSeq(mine) && isSeq(theirs)) {
        for (const l of mine.items) {
          const name = isMap(l) ? l.get('name') : undefined;
          const at = theirs.items.findIndex((x) => isMap(x) && x.get('name') === name);
          if (at >= 0) theirs.items[at] = l as never;
          else theirs.items.push(l as never);
        }
      }
    } else {
      const routes = made.get('routes', true);
      if (routes) doc.set('routes', routes);
      else doc.delete('routes');
    }
    const admin = made.getIn(['notices', 'admin']);
    if (typeof admin === 'string') doc.setIn(['notices', 'admin'], admin);
    const devices = made.get('devices');
    if (isSeq(devices)) {
      for (const d of devices.items) {
        const name = isMap(d) ? d.get('name') : undefined;
        if (typeof name === 'string' && deviceIndex(doc, name) === undefined) addDevice(doc, (d as { toJSON(): Record<string, unknown> & { name: string } }).toJSON());
      }
    }
  }, { env: process.env, ...(initialText !== undefined ? { initialText } : {}) });
}

/** The answers for the chosen route, or what is missing for it. */
export function toAnswers(b: WizardBody): { answers: InitAnswers; missing: string[] } {
  const missing: string[] = [];
  const need = <T>(value: T | undefined, field: string): T | undefined => {
    if (value === undefined || value === '') missing.push(field);
    return value;
  };
  const l = b.listeners ?? {};
  const answers: InitAnswers = {
    route: b.route,
    listeners: {
      host: l.host ?? '0.0.0.0', starttlsPort: l.starttlsPort ?? 2525,
      ...(l.tlsPort === null ? {} : { tlsPort: l.tlsPort ?? 2465 }),
      ...(l.legacyPort === null || l.legacyPort === undefined ? {} : { legacyPort: l.legacyPort }),
    },
  };
  if (ENTRA_ROUTES.has(b.route) || b.route === 'readers') {
    const tenant = need(b.tenant, 'tenant') ?? '';
    const clientId = need(b.clientId, 'clientId') ?? '';
    const secretEnv = b.secretEnv ?? 'M365_CLIENT_SECRET';
    let credential: NonNullable<InitAnswers['entra']>['credential'];
    if (b.route === 'smtp-oauth-delegated') credential = { kind: 'delegated' };
    else if (b.credential === 'certificate') credential = { kind: 'certificate', cert: need(b.certFile, 'certFile') ?? '', key: need(b.keyFile, 'keyFile') ?? '' };
    else credential = { kind: 'secret', ref: `\${${secretEnv}}`, value: b.clientSecret, envName: secretEnv };
    answers.entra = { cloud: b.cloud ?? 'global', tenant, clientId, credential, endpoints: { ...b.endpoints }, ...(b.ca ? { ca: b.ca } : {}) };
    if (b.route === 'readers') {
      const r = b.readers ?? {};
      const imapPort = r.imapPort === null ? undefined : r.imapPort ?? 1993;
      const pop3Port = r.pop3Port === null ? undefined : r.pop3Port ?? 1995;
      if (imapPort === undefined && pop3Port === undefined) missing.push('readers.imapPort');
      answers.readers = {
        mailboxes: need(b.mailboxes?.length ? b.mailboxes : undefined, 'mailboxes') ?? [], tls: r.tls ?? 'implicit', legacy: r.legacy === true,
        ...(imapPort !== undefined ? { imapPort } : {}), ...(pop3Port !== undefined ? { pop3Port } : {}),
      };
    } else answers.mailbox = need(b.mailbox, 'mailbox');
  } else if (b.route === 'direct-send') {
    answers.directSend = { domain: need(b.domain, 'domain') ?? '', dnsServers: b.dnsServers ?? [] };
  } else if (b.route === 'smtp') {
    const [host, p] = (need(b.relayHost, 'relayHost') ?? '').split(':');
    const relayPort = Number(p ?? 25);
    answers.relay = { host: host ?? '', port: relayPort, tls: b.relayTls ?? (relayPort === 465 ? 'implicit' : 'starttls'), ...(b.ca ? { ca: b.ca } : {}) };
  }
  if (b.device) answers.device = { name: b.device.name, networks: b.device.networks };
  if (b.admin) answers.admin = b.admin;
  return { answers, missing };
}

/** The document and the config the relay would read from it. `secretChecked` is false when no secret value was sent. */
function documentFor(a: InitAnswers, baseDir: string, lang: Lang = 'en'): { text: string; config: Config; secretChecked: boolean } {
  const doc = buildDocument(a, undefined, new Date(), lang);
  const secret = a.entra?.credential.kind === 'secret' ? a.entra.credential : undefined;
  // Without the value, the reference is checked with a stand-in so the rest of the file can be validated.
  const check = secret && secret.value === undefined ? { ...a, entra: { ...a.entra!, credential: { ...secret, value: 'value-not-sent' } } } : a;
  const config = validateDocument(doc, check, baseDir);
  return { text: doc.toString({ lineWidth: 0 }), config, secretChecked: !secret || secret.value !== undefined };
}

export function wizardRoutes(app: FastifyInstance, deps: ApiDeps): void {
  /** The answers, or a 400 naming what the route still needs. */
  const answersOf = (req: FastifyRequest<{ Body: WizardBody }>, reply: FastifyReply, action: string): InitAnswers | undefined => {
    const { answers, missing } = toAnswers(req.body);
    if (missing.length) {
      audit(deps, req, action, req.body.route, 'refused', { reason: `missing ${missing.join(', ')}` });
      void sendError(reply, 400, 'missing-answers', wz(W.apiMissing, answerLang(req, reply), { route: req.body.route, fields: missing.join(', ') }));
      return undefined;
    }
    return answers;
  };
  const auditDetail = (a: InitAnswers) => ({
    route: a.route, ...(a.entra ? { tenant: a.entra.tenant, clientId: a.entra.clientId, credential: a.entra.credential.kind } : {}),
    ...(a.mailbox ? { mailbox: a.mailbox } : {}), ...(a.readers ? { mailboxes: a.readers.mailboxes.length, imapPort: a.readers.imapPort ?? null, pop3Port: a.readers.pop3Port ?? null } : {}),
    ...(a.directSend ? { domain: a.directSend.domain } : {}), ...(a.relay ? { relay: `${a.relay.host}:${a.relay.port}`, tls: a.relay.tls } : {}),
  });
  const invalid = (req: FastifyRequest, reply: FastifyReply, err: unknown) => {
    if (!(err instanceof ConfigError)) throw err;
    return reply.code(400).header('cache-control', 'no-store').send({
      error: 'invalid-config', message: wz(W.apiInvalid, answerLang(req, reply), { problems: err.problemsIn(answerLang(req, reply)).join('; ') }), problems: err.problems,
    });
  };

  app.post<{ Body: WizardBody }>('/wizard/steps', {
    ...access.admin,
    schema: { summary: 'The steps to take in Entra ID and Exchange Online for the chosen route, filled in with the answers', tags: ['wizard'], body: bodySchema },
  }, async (req, reply) => {
    const a = answersOf(req, reply, 'wizard-steps');
    if (!a) return reply;
    audit(deps, req, 'wizard-steps', a.route, 'ok', auditDetail(a));
    const lang = answerLang(req, reply);
    return { route: a.route, steps: setupSteps(a, lang), permissions: neededPermissions(a.route, lang) };
  });

  app.post<{ Body: WizardBody }>('/wizard/test', {
    ...access.admin,
    schema: { summary: 'Test the answers live: an app token and its roles, the MX lookup, or the relay\'s greeting (no message is sent)', tags: ['wizard'], body: bodySchema },
  }, async (req, reply) => {
    const a = answersOf(req, reply, 'wizard-test');
    if (!a) return reply;
    const lang = answerLang(req, reply);
    if (a.entra?.credential.kind === 'secret' && a.entra.credential.value === undefined) {
      audit(deps, req, 'wizard-test', a.route, 'refused', { ...auditDetail(a), reason: 'no client secret' });
      return sendError(reply, 400, 'missing-answers', wz(W.apiNeedsSecret, lang));
    }
    const secret = req.body.clientSecret;
    const lines: string[] = [];
    const say = (line = '') => lines.push(secret ? line.split(secret).join('(secret)') : line);
    // Another relay: look at it first; its proposal is the tls tested (unless one was chosen).
    let probe: SmtpProbe | undefined;
    if (a.relay && !req.body.relayTls) {
      say(wz(W.lookingAtRelay, lang, { host: a.relay.host, port: a.relay.port }));
      probe = await probeSmtp(probeOptions(a.relay, deps.config()));
      for (const line of describeProbe(probe, lang)) say(line);
      if (probe.proposal.tls) a.relay.tls = probe.proposal.tls;
    }
    let config: Config;
    try {
      config = documentFor(a, deps.config().dataDir).config;
    } catch (err) {
      return invalid(req, reply, err);
    }
    const result = await liveTest(a, config, say, { probe, lang });
    audit(deps, req, 'wizard-test', a.route, 'ok', { ...auditDetail(a), passed: result.ok, tested: result.tested });
    return {
      ok: result.ok, tested: result.tested, lines, permissions: neededPermissions(a.route, lang),
      ...(result.probe ? { probe: result.probe, relayTls: a.relay?.tls } : {}),
    };
  });

  app.post<{ Body: WizardBody }>('/wizard/config', {
    ...access.admin,
    schema: { summary: 'The commented, validated YAML configuration for the answers; the secret as a ${VARIABLE} reference', tags: ['wizard'], body: bodySchema },
  }, async (req, reply) => {
    const a = answersOf(req, reply, 'wizard-config');
    if (!a) return reply;
    const lang = answerLang(req, reply);
    let made: ReturnType<typeof documentFor>;
    try {
      made = documentFor(a, deps.config().dataDir, lang);
    } catch (err) {
      audit(deps, req, 'wizard-config', a.route, 'refused', { ...auditDetail(a), reason: 'invalid configuration' });
      return invalid(req, reply, err);
    }
    const secret = a.entra?.credential.kind === 'secret' ? a.entra.credential : undefined;
    const upstream = UPSTREAM_NAME[a.route];
    const running = deps.configFile();
    // On the embedded default the wizard writes ./authrelay.yaml, which the relay reads from then on.
    const file = running ?? deps.newConfigFile.path;
    let reload: ReloadResult | undefined;
    if (req.body.write) {
      if (a.relay?.tls === 'none' && !req.body.allowNoTls) {
        audit(deps, req, 'wizard-config', a.route, 'refused', { ...auditDetail(a), reason: 'tls: none not confirmed' });
        return sendError(reply, 400, 'insecure-upstream', wz(W.apiInsecure, lang, { host: a.relay.host }));
      }
      if (!req.body.force && made.secretChecked) {
        const lines: string[] = [];
        const secretValue = req.body.clientSecret;
        const tested = await liveTest(a, made.config, (line = '') => lines.push(secretValue ? line.split(secretValue).join('(secret)') : line), { lang });
        if (!tested.ok) {
          audit(deps, req, 'wizard-config', a.route, 'refused', { ...auditDetail(a), reason: 'live test failed' });
          return reply.code(409).header('cache-control', 'no-store').send({
            error: 'live-test-failed', message: wz(W.apiLiveTestFailed, lang), lines,
          });
        }
      }
      try {
        mergeWizardConfig(file, made.text, upstream, running ? undefined : deps.newConfigFile.text, a.route === 'readers');
      } catch (err) {
        audit(deps, req, 'wizard-config', a.route, 'refused', { ...auditDetail(a), reason: 'invalid configuration' });
        if (err instanceof ConfigError || err instanceof UserError) {
          const problems = err instanceof ConfigError ? err.problems : [err.text[lang]];
          const said = err instanceof ConfigError ? err.problemsIn(lang) : problems;
          return reply.code(400).header('cache-control', 'no-store').send({ error: 'invalid-config', message: wz(W.apiMergedInvalid, lang, { problems: said.join('; ') }), problems });
        }
        throw err;
      }
      reload = await deps.reload(`${actorName(principalOf(req))} in the console wizard`, running ? undefined : file);
    }
    const written = req.body.write === true;
    audit(deps, req, 'wizard-config', a.route, 'ok', {
      ...auditDetail(a), written, ...(written && req.body.force ? { forced: true } : {}), ...(reload ? { applied: reload.ok, configVersion: reload.version } : {}),
    });
    return {
      yaml: made.text, fileName: 'authrelay.yaml', secretChecked: made.secretChecked, written, canWrite: true,
      ...(written ? { file, backup: `${file}.bak` } : {}),
      ...(reload ? { applied: reload.ok, configVersion: reload.version, message: reload.message, ...(reload.problems ? { problems: reload.problems } : {}) } : {}),
      env: secret?.envName ? [{ name: secret.envName, holds: wz(W.envHolds, lang) }] : [],
      next: [
        wz(W.nextSave, lang),
        ...(secret?.envName ? [wz(W.nextSetEnv, lang, { env: secret.envName })] : []),
        wz(W.nextCheck, lang),
        ...(a.route === 'smtp-oauth-delegated' && upstream ? [wz(W.nextSignIn, lang, { upstream })] : []),
        ...(a.readers ? [wz(W.nextReaderDevice, lang, { name: a.device?.name ?? 'erp', mailbox: a.readers.mailboxes[0] ?? '<mailbox>' }), wz(W.nextDoctor, lang)] : []),
        ...(written ? [] : [wz(W.nextApply, lang)]),
      ],
    };
  });
}
