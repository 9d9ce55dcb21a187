/**
 * One configuration version of the running relay, built completely from one
 * validated, frozen Config before it is swapped in: the device registry and
 * session policy, the route table, the transports, the queue settings. A
 * session takes the receive part when it connects; a delivery takes the
 * delivery part when its message is claimed; both keep theirs to the end.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { DeviceRegistry } from '../identity/devices.js';
import type { LoginLimits, MessageRates } from '../identity/lockout.js';
import { SessionPolicy } from '../receive/policy.js';
import type { ReceiveSnapshot } from '../receive/snapshot.js';
import type { DeliverySnapshot } from '../deliver/scheduler.js';
import type { Transport } from '../deliver/transport.js';
import { RouteTable } from '../route/rules.js';
import { CAPTURE_ROUTE } from '../config/capture-route.js';
import type { RouteConfig } from '../config/schema.js';
import { relayHostname } from '../spool/names.js';

export interface ConfigVersion {
  /** 1 at start, one more for every reload that was applied. */
  seq: number;
  /** The start of the SHA-256 of the configuration file (or of the embedded default). */
  digest: string;
  /** How it is shown and recorded: "3 (sha256 1f2e3d4c5b6a)". */
  label: string;
  /** The file it came from, or "(embedded default)". */
  source: string;
  loadedAt: number;
}

export interface RelaySnapshot {
  readonly version: ConfigVersion;
  readonly config: Config;
  readonly receive: ReceiveSnapshot;
  readonly delivery: DeliverySnapshot;
  /** What decides routing (routes, device routes, upstream names): a change sends queued messages back to routing. */
  readonly routingKey: string;
}

/** Counters that outlive configuration versions. */
export interface SharedState {
  lockout: LoginLimits;
  rates: MessageRates;
}

export function configVersion(seq: number, text: string, source: string): ConfigVersion {
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 12);
  return { seq, digest, label: `${seq} (sha256 ${digest})`, source, loadedAt: Date.now() };
}

/** The routes in effect: the configured ones, or the only upstream, or the capture route. */
export function effectiveRoutes(config: Config): RouteConfig[] {
  const upstreamNames = Object.keys(config.upstreams);
  if (config.routes.length > 0) return [...config.routes];
  return [{ name: upstreamNames.length === 1 ? 'the only upstream' : 'embedded default', use: [upstreamNames.length === 1 ? upstreamNames[0]! : CAPTURE_ROUTE], when: {} }];
}

function deviceRoutesOf(config: Config): Map<string, string> {
  return new Map(config.devices.filter((d) => d.route).map((d) => [d.name, d.route!]));
}

/**
 * The receive part of a configuration version: the device registry, the
 * session policy and the router. The root builds it first at start, so the
 * SMTP listeners accept before the transports are made, and passes the same
 * object to buildSnapshot.
 */
export function buildReceive(config: Config, version: ConfigVersion, shared: SharedState): ReceiveSnapshot {
  const routes = new RouteTable(effectiveRoutes(config));
  const devices = new DeviceRegistry(config.devices, { trustLoopback: config.trustLoopback });
  const deviceRoutes = deviceRoutesOf(config);
  const policy = new SessionPolicy(devices, { lockout: shared.lockout, rates: shared.rates, failureDelayMs: config.security.authFailureDelay });
  const router = (i: { device: string; sender: string; recipients: string[] }) =>
    routes.resolve({ device: i.device, sender: i.sender, recipients: i.recipients, ...(deviceRoutes.has(i.device) ? { deviceRoute: deviceRoutes.get(i.device)! } : {}) })
      .map((g) => ({ route: g.route, recipients: g.recipients, rule: g.rule }));
  return { version: version.label, hostname: relayHostname(config), policy, maxLifetimeMs: config.queue.maxLifetime, router };
}

export function buildSnapshot(
  config: Config, version: ConfigVersion, transports: ReadonlyMap<string, Transport>, shared: SharedState,
  receive: ReceiveSnapshot = buildReceive(config, version, shared),
): RelaySnapshot {
  const routeRules = effectiveRoutes(config);
  const routes = new RouteTable(routeRules);
  const deviceRoutes = deviceRoutesOf(config);
  return {
    version,
    config,
    receive,
    delivery: {
      version: version.label, transports, routes,
      deviceRoute: (d) => (d ? deviceRoutes.get(d) : undefined),
      options: config.queue,
    },
    routingKey: JSON.stringify({ routes: routeRules, deviceRoutes: [...deviceRoutes], upstreams: [...transports.keys()].sort() }),
  };
}
