/**
 * /api/v1/devices (add, edit, reset password, remove): devices live in the
 * config file the relay was started with; these routes edit it in place
 * (comments kept, validated before writing, written atomically) with the
 * same helpers as `authrelay device`. Only password hashes are stored; a
 * generated password is returned once and never logged or audited. Device
 * changes take effect when the relay restarts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isCollection, isNode, isSeq, type Document } from 'yaml';
import { editConfigFile, generatePassword, indexOfOrUndefined } from '../../cli/commands/device.js';
import { UsageError } from '../../cli/common.js';
import { ConfigError, loadConfigFile } from '../../config/load.js';
import type { DeviceConfig } from '../../config/schema.js';
import { hashPassword } from '../../identity/password.js';
import { sendError } from '../auth/guard.js';
import { access, audit, type ApiDeps } from './context.js';

const RESTART = 'restart the relay to apply the change (authrelay serve reads devices at start)';
const NAME = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$';
const list = { type: 'array', maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 320 } } as const;
const fields = {
  networks: list,
  username: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[^\\s:]+$' },
  sendAs: { type: 'string', maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' },
  allowedFrom: list,
  route: { type: 'string', minLength: 1, maxLength: 100 },
} as const;
/** PATCH also takes null for the optional single values: null removes the key. */
const editFields = {
  ...fields,
  sendAs: { ...fields.sendAs, type: ['string', 'null'] },
  route: { ...fields.route, type: ['string', 'null'] },
} as const;

interface DeviceBody {
  name?: string;
  networks?: string[];
  username?: string;
  /** true: generate a password (returned once). */
  password?: boolean;
  sendAs?: string;
  allowedFrom?: string[];
  route?: string;
}

/** PATCH: null removes sendAs or route. */
type EditBody = Omit<DeviceBody, 'name' | 'password' | 'sendAs' | 'route'> & { sendAs?: string | null; route?: string | null };

const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: NAME } } } as const;

export function deviceRoutes(app: FastifyInstance, deps: ApiDeps): void {
  /** Edits the file, or answers 409/400/404; returns true when written. */
  const apply = (req: FastifyRequest, reply: FastifyReply, action: string, target: string, change: (doc: Document) => void): boolean => {
    const file = deps.configFile;
    if (!file) {
      audit(deps, req, action, target, 'refused', { reason: 'no config file' });
      void sendError(reply, 409, 'no-config-file', 'the relay was started without a config file (embedded default); start it with --config FILE to manage devices here, or edit the configuration by hand');
      return false;
    }
    try {
      editConfigFile(file, change);
    } catch (err) {
      if (err instanceof Refusal) {
        audit(deps, req, action, target, 'refused', { reason: err.code });
        void sendError(reply, err.status, err.code, err.message);
        return false;
      }
      if (err instanceof ConfigError || err instanceof UsageError) {
        const problems = err instanceof ConfigError ? err.problems : [err.message];
        audit(deps, req, action, target, 'refused', { reason: 'invalid configuration' });
        void reply.code(400).header('cache-control', 'no-store').send({ error: 'invalid-config', message: `the change would make the configuration invalid; nothing was written: ${problems.join('; ')}`, problems });
        return false;
      }
      throw err;
    }
    return true;
  };
  const indexIn = (doc: Document, name: string): number => {
    const i = indexOfOrUndefined(doc, name);
    if (i === undefined) throw new Refusal(404, 'not-found', `no device named ${name} in the config file`);
    return i;
  };

  app.post<{ Body: DeviceBody & { name: string } }>('/devices', {
    ...access.admin,
    schema: {
      summary: 'Add a device to the config file (a generated password is returned once); applies at the next restart', tags: ['devices'],
      body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', pattern: NAME }, password: { type: 'boolean' }, ...fields } },
    },
  }, async (req, reply) => {
    const b = req.body;
    const wantsPassword = b.password === true || b.username !== undefined;
    if (!wantsPassword && !b.networks?.length) {
      audit(deps, req, 'device-add', b.name, 'refused', { reason: 'no password or network' });
      return sendError(reply, 400, 'invalid-request', 'a device needs a password (password: true), networks, or both');
    }
    const entry: Record<string, unknown> = { name: b.name };
    let password: string | undefined;
    if (wantsPassword) {
      password = generatePassword();
      entry.username = b.username ?? b.name;
      entry.passwordHash = await hashPassword(password);
    }
    if (b.networks?.length) entry.networks = b.networks;
    if (b.sendAs) entry.sendAs = b.sendAs;
    if (b.allowedFrom?.length) entry.allowedFrom = b.allowedFrom;
    if (b.route) entry.route = b.route;
    const ok = apply(req, reply, 'device-add', b.name, (doc) => {
      if (indexOfOrUndefined(doc, b.name) !== undefined) throw new Refusal(409, 'exists', `a device named ${b.name} exists already`);
      if (!isSeq(doc.get('devices'))) doc.set('devices', doc.createNode([]));
      doc.addIn(['devices'], doc.createNode(entry));
    });
    if (!ok) return reply;
    audit(deps, req, 'device-add', b.name, 'ok', { username: entry.username ?? null, networks: b.networks ?? [] });
    return reply.code(201).header('cache-control', 'no-store').send({
      name: b.name, username: entry.username ?? null, ...(password ? { password } : {}), restartNeeded: true, message: RESTART,
    });
  });

  app.patch<{ Params: { name: string }; Body: EditBody }>('/devices/:name', {
    ...access.admin,
    schema: {
      summary: 'Edit a device in the config file (networks, username, sendAs, allowedFrom, route; an empty list or null removes the key); applies at the next restart',
      tags: ['devices'], params: nameParams, body: { type: 'object', additionalProperties: false, minProperties: 1, properties: editFields },
    },
  }, async (req, reply) => {
    const { name } = req.params;
    const b = req.body;
    const ok = apply(req, reply, 'device-edit', name, (doc) => {
      const i = indexIn(doc, name);
      for (const key of ['networks', 'username', 'sendAs', 'allowedFrom', 'route'] as const) {
        const v = b[key];
        if (v === undefined) continue;
        if (v === null || (Array.isArray(v) && v.length === 0)) doc.deleteIn(['devices', i, key]);
        else replaceValue(doc, ['devices', i, key], v);
      }
    });
    if (!ok) return reply;
    audit(deps, req, 'device-edit', name, 'ok', { changed: Object.keys(b) });
    return { name, restartNeeded: true, message: RESTART };
  });

  app.post<{ Params: { name: string } }>('/devices/:name/password', {
    ...access.admin,
    schema: { summary: 'Generate a new password for a device (returned once); applies at the next restart', tags: ['devices'], params: nameParams },
  }, async (req, reply) => {
    const { name } = req.params;
    const password = generatePassword();
    const hash = await hashPassword(password);
    let username = name;
    const ok = apply(req, reply, 'device-password', name, (doc) => {
      const i = indexIn(doc, name);
      const current = doc.getIn(['devices', i, 'username']);
      if (typeof current === 'string' && current) username = current;
      else doc.setIn(['devices', i, 'username'], name);
      doc.setIn(['devices', i, 'passwordHash'], hash);
    });
    if (!ok) return reply;
    audit(deps, req, 'device-password', name, 'ok');
    return reply.header('cache-control', 'no-store').send({ name, username, password, restartNeeded: true, message: RESTART });
  });

  app.delete<{ Params: { name: string } }>('/devices/:name', {
    ...access.admin,
    schema: { summary: 'Remove a device from the config file; applies at the next restart', tags: ['devices'], params: nameParams },
  }, async (req, reply) => {
    const { name } = req.params;
    const ok = apply(req, reply, 'device-remove', name, (doc) => { doc.deleteIn(['devices', indexIn(doc, name)]); });
    if (!ok) return reply;
    audit(deps, req, 'device-remove', name, 'ok');
    return { name, restartNeeded: true, message: RESTART };
  });
}

/** Sets a value in the document, keeping the comments and the flow or block style of the value it replaces. */
function replaceValue(doc: Document, path: (string | number)[], value: unknown): void {
  const old = doc.getIn(path, true);
  const node = doc.createNode(value);
  if (isNode(old)) {
    if (old.commentBefore) node.commentBefore = old.commentBefore;
    if (old.comment) node.comment = old.comment;
    if (isCollection(old) && isCollection(node)) node.flow = old.flow;
  }
  doc.setIn(path, node);
}

/**
 * The devices as the config file has them now (loaded and validated the way
 * the relay loads it at start), so the inventory can show changes that wait
 * for a restart; undefined when the relay runs without a config file, and
 * the reason when the file cannot be read or is not valid.
 */
export function devicesInFile(deps: ApiDeps): { devices: DeviceConfig[] } | { error: string } | undefined {
  if (!deps.configFile) return undefined;
  try {
    return { devices: loadConfigFile(deps.configFile, { env: process.env }).config.devices };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** A refusal decided while editing the file (nothing is written). */
class Refusal extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}
