/**
 * The OpenAPI 3.1 document of /api/v1, generated from the routes as they are
 * registered (their JSON schemas, summaries and access), so every route is in
 * it and it cannot drift from what the server validates.
 */
import type { RouteOptions } from 'fastify';
import type { Access } from '../auth/guard.js';

declare module 'fastify' {
  /** The OpenAPI fields a route's schema may carry (as @fastify/swagger has them). */
  interface FastifySchema {
    summary?: string;
    tags?: string[];
  }
}

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema & { description?: string }>;
  required?: readonly string[];
  [k: string]: unknown;
}

interface RouteSchema {
  summary?: string;
  tags?: string[];
  body?: JsonSchema;
  querystring?: JsonSchema;
  params?: JsonSchema;
}

export interface CollectedRoute {
  method: string;
  url: string;
  access: Access;
  schema: RouteSchema;
}

/** Collects routes from Fastify's onRoute hook. */
export function routeCollector(): { routes: CollectedRoute[]; onRoute: (r: RouteOptions) => void } {
  const routes: CollectedRoute[] = [];
  return {
    routes,
    onRoute: (r) => {
      for (const method of [r.method].flat()) {
        if (method === 'HEAD') continue;
        routes.push({ method, url: r.url, access: ((r.config as { access?: Access } | undefined)?.access) ?? 'admin', schema: (r.schema ?? {}) as RouteSchema });
      }
    },
  };
}

const ERROR = { $ref: '#/components/schemas/Error' };
const err = (description: string) => ({ description, content: { 'application/json': { schema: ERROR } } });

function parameters(where: 'path' | 'query', s: JsonSchema | undefined) {
  return Object.entries(s?.properties ?? {}).map(([name, schema]) => {
    const { description, ...rest } = schema;
    return { name, in: where, required: where === 'path' || (s?.required ?? []).includes(name), schema: rest, ...(description ? { description } : {}) };
  });
}

function responses(r: CollectedRoute) {
  const out: Record<string, unknown> = {
    [r.method === 'DELETE' ? '204' : r.method === 'POST' && /\/(setup|tokens)$/.test(r.url) ? '201' : '200']: { description: 'Done' },
  };
  if (r.schema.body || r.schema.querystring || r.schema.params) out['400'] = err('The request does not match the schema');
  if (r.access !== 'public') {
    out['401'] = err('Not signed in: no session cookie and no valid API token');
    out['403'] = err(r.method === 'GET' ? 'Signed in, but not allowed (API token scope)' : 'Missing or wrong X-CSRF-Token (session), or not allowed (API token scope)');
  }
  if (/\/(setup|session)$/.test(r.url) && r.method === 'POST') out['429'] = err('Too many failures from this address; see Retry-After');
  if (r.schema.params) out['404'] = err('No such item');
  return out;
}

const SECURITY: Record<Access, unknown[]> = {
  public: [],
  read: [{ session: [] }, { bearer: [] }],
  admin: [{ session: [] }, { bearer: ['admin'] }],
  session: [{ session: [] }],
};

export function openApiDocument(routes: CollectedRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      summary: r.schema.summary ?? '',
      ...(r.schema.tags ? { tags: r.schema.tags } : {}),
      'x-access': r.access,
      security: SECURITY[r.access],
      parameters: [...parameters('path', r.schema.params), ...parameters('query', r.schema.querystring)],
      ...(r.schema.body ? { requestBody: { required: true, content: { 'application/json': { schema: r.schema.body } } } } : {}),
      responses: responses(r),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'authrelay admin API', version, description: 'Everything the admin console does. Sign in with POST /api/v1/session (cookie + X-CSRF-Token on changes) or use an API token (Authorization: Bearer).' },
    paths,
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'authrelay_session', description: 'From POST /api/v1/session; state-changing requests also need the X-CSRF-Token header' },
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token from POST /api/v1/tokens (scope read or admin)' },
      },
      schemas: { Error: { type: 'object', required: ['error', 'message'], properties: { error: { type: 'string' }, message: { type: 'string' } } } },
    },
  };
}
