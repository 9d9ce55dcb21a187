/**
 * /api/v1/reload: reads the relay's configuration file again and applies it
 * without a restart (as `authrelay reload` and SIGHUP do). A file that is not
 * valid is refused with its problems, and the running configuration stays.
 */
import type { FastifyInstance } from 'fastify';
import { actorName, principalOf } from '../auth/guard.js';
import { access, audit, type ApiDeps } from './context.js';

export function configRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post('/reload', {
    ...access.admin,
    schema: { summary: 'Read the configuration file again and apply it at once (refused with the reasons when it is not valid; the running configuration then stays)', tags: ['config'] },
  }, async (req, reply) => {
    const r = await deps.reload(`${actorName(principalOf(req))} in the console`);
    audit(deps, req, 'config-reload', r.source, r.ok ? 'ok' : 'refused', { configVersion: r.version, ...(r.problems ? { problems: r.problems } : {}) });
    const body = { applied: r.ok, configVersion: r.version, configFile: r.source, message: r.message, restartNeeded: r.restartNeeded, ...(r.problems ? { problems: r.problems } : {}), ...(r.changes ? { changes: r.changes } : {}) };
    return r.ok ? body : reply.code(400).send({ error: 'invalid-config', ...body });
  });
}
