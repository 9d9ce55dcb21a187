/**
 * /api/v1/diagnostics and /api/v1/upstreams/:name/test: the console's way to
 * run `authrelay doctor` against the running relay's configuration, and to
 * send one real test message straight through an upstream (the same steps as
 * `authrelay send-test --route`), without the queue. Diagnostics carry
 * every text in both languages ({ en, ja }, as `doctor --json` does; the
 * console shows its own language) and the catalogue's `ref`; the test's
 * steps are in the language of Accept-Language.
 */
import type { FastifyInstance } from 'fastify';
import { isIP } from 'node:net';
import { runDoctor } from '../../doctor/doctor.js';
import { sendTestRoute } from '../../deliver/send-test-route.js';
import { SEND_TEST_TEXT } from '../../deliver/send-test-text.js';
import { render } from '../../core/i18n.js';
import { UserError } from '../../core/user-error.js';
import { sendError } from '../auth/guard.js';
import { access, audit, type ApiDeps } from './context.js';
import { answerLang } from './localized.js';

/** Longest wait for one network step of a diagnostics run. */
const DIAGNOSTICS_STEP_TIMEOUT_MS = 10_000;

export function diagnosticsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: { publicIp?: string } }>('/diagnostics', {
    ...access.admin,
    schema: {
      summary: 'Run the doctor\'s checks against the running relay\'s configuration: listeners, certificates, each upstream, the queue', tags: ['diagnostics'],
      querystring: { type: 'object', additionalProperties: false, properties: {
        publicIp: { type: 'string', maxLength: 45, description: 'The site\'s public IP address, to evaluate Direct Send SPF records' },
      } },
    },
  }, async (req, reply) => {
    const publicIp = req.query.publicIp?.trim() || undefined;
    if (publicIp && !isIP(publicIp)) return sendError(reply, 400, 'invalid-request', `publicIp "${publicIp}" is not an IPv4 or IPv6 address`);
    const started = Date.now();
    const report = await runDoctor(deps.config(), { publicIp, timeoutMs: DIAGNOSTICS_STEP_TIMEOUT_MS, now: started });
    return { ranAt: new Date(started).toISOString(), ms: Date.now() - started, counts: report.counts(), checks: report.checks };
  });

  app.post<{ Params: { name: string }; Body: { to: string; from?: string } }>('/upstreams/:name/test', {
    ...access.admin,
    schema: {
      summary: 'Send one real test message straight through an upstream (not queued) and tell each step of the attempt', tags: ['upstreams'],
      params: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 200 } } },
      body: { type: 'object', required: ['to'], additionalProperties: false, properties: {
        to: { type: 'string', minLength: 3, maxLength: 320, pattern: '^[^\\s<>@]+@[^\\s<>@]+$' },
        from: { type: 'string', minLength: 3, maxLength: 320, pattern: '^[^\\s<>@]+@[^\\s<>@]+$' },
      } },
    },
  }, async (req, reply) => {
    const name = req.params.name;
    if (!Object.hasOwn(deps.config().upstreams, name)) {
      audit(deps, req, 'upstream-test', name, 'refused', { reason: 'no such upstream' });
      return sendError(reply, 404, 'not-found', `no upstream named "${name}"`);
    }
    const lang = answerLang(req, reply);
    const steps: string[] = [];
    let ok = false;
    let error: string | undefined;
    try {
      ok = (await sendTestRoute(deps.config(), { route: name, to: req.body.to, from: req.body.from }, (line) => steps.push(line), lang)) === 0;
    } catch (err) {
      // The transport could not be made (e.g. a credential that cannot be read): the steps so far and why.
      error = err instanceof UserError ? err.text[lang] : (err as Error).message;
      steps.push(render(SEND_TEST_TEXT.couldNotSend, lang, { message: error }));
    }
    audit(deps, req, 'upstream-test', name, 'ok', { to: req.body.to, delivered: ok });
    return { ok, steps, ...(error ? { error } : {}) };
  });
}
