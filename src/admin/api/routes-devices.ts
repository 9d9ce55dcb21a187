/**
 * /api/v1/devices (add, edit, reset password, remove): devices live in the
 * config file the relay was started with; these routes edit it in place
 * (comments kept, validated before writing, written atomically) with the
 * same editor as `authrelay device` (config/editor.ts). Only password hashes
 * are stored; a generated password is returned once and never logged or
 * audited. Every change is applied at once by a reload of the running relay;
 * on the embedded default the first change writes ./authrelay.yaml (the
 * embedded default's settings plus the change), which the relay reads from
 * then on.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isCollection, isNode, type Document } from '../../vendor/yaml.js';
import { addDevice, deviceIndex, editConfigFile } from '../../config/editor.js';
import type { ReloadResult } from '../../core/reload-result.js';
import { UserError } from '../../core/user-error.js';
import { ConfigError, loadConfigFile } from '../../config/load.js';
import type { DeviceConfig } from '../../config/schema.js';
import { generatePassword, hashPassword } from '../../identity/password.js';
import { sendError } from '../auth/guard.js';
import { actorName, principalOf } from '../auth/guard.js';
import { access, audit, type ApiDeps } from './context.js';
const NAME = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$';
const list = { type: 'array', maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 320 } } as const;
const fields = {
  networks: list,
  username: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[^\\s:]+$' },
  sendAs: { type: 'string', maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' },
  allowedFrom: list,
  route: { type: 'string', minLength: 1, maxLength: 100 },
  /** The mailboxes the device may read through the IMAP and POP3 listeners (docs/imap-pop.md). */
  mailboxes: { type: 'array', maxItems: 50, items: { type: 'string', minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' } },
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
  mailboxes?: string[];
}

/** PATCH: null removes sendAs or route. */
type EditBody = Omit<DeviceBody, 'name' | 'password' | 'sendAs' | 'route'> & { sendAs?: string | null; route?: string | null };

const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: NAME } } } as const;

export function deviceRoutes(app: FastifyInstance, deps: ApiDeps): void {
  /**
   * Edits the file and reloads the relay, or answers 400/404/409 (nothing
   * written). Resolves with the reload's answer, or undefined when refused.
   */
  const apply = async (req: FastifyRequest, reply: FastifyReply, action: string, target: string, change: (doc: Document) => void): Promise<ReloadResult | undefined> => {
    const running = deps.configFile();
    // On the embedded default the first change writes ./authrelay.yaml beside the data directory's default place.
    const file = running ?? deps.newConfigFile.path;
    try {
      editConfigFile(file, change, { env: process.env, ...(running ? {} : { initialText: deps.newConfigFile.text }) });
    } catch (err) {
      if (err instanceof Refusal) {
        audit(deps, req, action, target, 'refused', { reason: err.code });
        void sendError(reply, err.status, err.code, err.message);
        return undefined;
      }
      if (err instanceof ConfigError || err instanceof UserError) {
        const problems = err instanceof ConfigError ? err.problems : [err.message];
        audit(deps, req, action, target, 'refused', { reason: 'invalid configuration' });
        void reply.code(400).header('cache-control', 'no-store').send({ error: 'invalid-config', message: `the change would make the configuration invalid; nothing was written: ${problems.join('; ')}`, problems });
        return undefined;
      }
      throw err;
    }
    return deps.reload(`${actorName(principalOf(req))} in the console (${action} ${target})`, running ? undefined : file);
  };
  /** What every change answers about its reload. */
  const applied = (r: ReloadResult) => ({
    applied: r.ok, configVersion: r.version, configFile: r.source, message: r.message, ...(r.problems ? { problems: r.problems } : {}),
  });
  const indexIn = (doc: Document, name: string): number => {
    const i = deviceIndex(doc, name);
    if (i === undefined) throw new Refusal(404, 'not-found', `no device named ${name} in the config file`);
    return i;
  };

  app.post<{ Body: DeviceBody & { name: string } }>('/devices', {
    ...access.admin,
    schema: {
      summary: 'Add a device to the config file (a generated password is returned once); applied at once by a reload', tags: ['devices'],
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
    if (b.mailboxes?.length) entry.mailboxes = b.mailboxes;
    const r = await apply(req, reply, 'device-add', b.name, (doc) => {
      if (deviceIndex(doc, b.name) !== undefined) throw new Refusal(409, 'exists', `a device named ${b.name} exists already`);
      addDevice(doc, entry as Record<string, unknown> & { name: string });
    });
    if (!r) return reply;
    audit(deps, req, 'device-add', b.name, 'ok', { username: entry.username ?? null, networks: b.networks ?? [], configVersion: r.version, applied: r.ok });
    return reply.code(201).header('cache-control', 'no-store').send({
      name: b.name, username: entry.username ?? null, ...(password ? { password } : {}), ...applied(r),
    });
  });

  app.patch<{ Params: { name: string }; Body: EditBody }>('/devices/:name', {
    ...access.admin,
    schema: {
      summary: 'Edit a device in the config file (networks, username, sendAs, allowedFrom, route, mailboxes; an empty list or null removes the key); applied at once by a reload',
      tags: ['devices'], params: nameParams, body: { type: 'object', additionalProperties: false, minProperties: 1, properties: editFields },
    },
  }, async (req, reply) => {
    const { name } = req.params;
    const b = req.body;
    const r = await apply(req, reply, 'device-edit', name, (doc) => {
      const i = indexIn(doc, name);
      for (const key of ['networks', 'username', 'sendAs', 'allowedFrom', 'route', 'mailboxes'] as const) {
        const v = b[key];
        if (v === undefined) continue;
        if (v === null || (Array.isArray(v) && v.length === 0)) doc.deleteIn(['devices', i, key]);
        else replaceValue(doc, ['devices', i, key], v);
      }
    });
    if (!r) return reply;
    audit(deps, req, 'device-edit', name, 'ok', { changed: Object.keys(b), configVersion: r.version, applied: r.ok });
    return { name, ...applied(r) };
  });

  app.post<{ Params: { name: string } }>('/devices/:name/password', {
    ...access.admin,
    schema: { summary: 'Generate a new password for a device (returned once); applied at once by a reload', tags: ['devices'], params: nameParams },
  }, async (req, reply) => {
    const { name } = req.params;
    const password = generatePassword();
    const hash = await hashPassword(password);
    let username = name;
    const r = await apply(req, reply, 'device-password', name, (doc) => {
      const i = indexIn(doc, name);
      const current = doc.getIn(['devices', i, 'username']);
      if (typeof current === 'string' && current) username = current;
      else doc.setIn(['devices', i, 'username'], name);
      doc.setIn(['devices', i, 'passwordHash'], hash);
    });
    if (!r) return reply;
    audit(deps, req, 'device-password', name, 'ok', { configVersion: r.version, applied: r.ok });
    return reply.header('cache-control', 'no-store').send({ name, username, password, ...applied(r) });
  });

  app.delete<{ Params: { name: string } }>('/devices/:name', {
    ...access.admin,
    schema: { summary: 'Remove a device from the config file; applied at once by a reload', tags: ['devices'], params: nameParams },
  }, async (req, reply) => {
    const { name } = req.params;
    const r = await apply(req, reply, 'device-remove', name, (doc) => { doc.deleteIn(['devices', indexIn(doc, name)]); });
    if (!r) return reply;
    audit(deps, req, 'device-remove', name, 'ok', { configVersion: r.version, applied: r.ok });
    return { name, ...applied(r) };
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
 * the relay loads it), so the inventory can show changes made to the file by
 * hand that wait for a reload; undefined when the relay runs without a config file, and
 * the reason when the file cannot be read or is not valid.
 */
export function devicesInFile(deps: ApiDeps): { devices: DeviceConfig[] } | { error: string } | undefined {
  const file = deps.configFile();
  if (!file) return undefined;
  try {
    return { devices: loadConfigFile(file, { env: process.env }).config.devices };
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

