/**
 * Reloading the configuration without a restart (`authrelay reload`, SIGHUP,
 * and every change made from the console or the CLI). The file is read and
 * validated first; a file that is not valid, or a snapshot that cannot be
 * built (a port that cannot be bound, a certificate that cannot be read), is
 * refused with the reasons, and the running configuration stays. Otherwise
 * the next snapshot, built completely, is swapped in at once: sessions and
 * deliveries already under way keep the one they started with. One reload
 * runs at a time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import { configVersion, type ConfigVersion, type RelaySnapshot } from './snapshot.js';
import type { Changes, ReloadResult } from '../core/reload-result.js';

export type { Changes, ReloadResult } from '../core/reload-result.js';

/** What the root builds for a new configuration: applied by commit(), undone by abort(). */
export interface PreparedReload {
  snapshot: RelaySnapshot;
  changes: { upstreams: Changes };
  abort(): Promise<void>;
  commit(): Promise<{ listeners: Changes; rerouted: number }>;
}

export interface ReloaderDeps {
  log: Logger;
  env: Record<string, string | undefined>;
  /** The file the relay was started with; absent on the embedded default. */
  configFile: string | undefined;
  current: () => RelaySnapshot;
  build: (config: Config, version: ConfigVersion) => Promise<PreparedReload>;
}

/** Settings read once at start: a change is reported, and applies after a restart. */
const AT_START: (keyof Config)[] = ['dataDir', 'store', 'admin', 'secretKey', 'workers'];
/** Live settings besides devices, listeners, upstreams and routes, named when they change. */
const LIVE: (keyof Config)[] = ['hostname', 'tls', 'trustLoopback', 'queue', 'notices', 'alerts', 'security', 'log', 'shutdownTimeout'];

export class Reloader {
  private chain: Promise<unknown> = Promise.resolve();
  private file: string | undefined;
  private closed = false;

  constructor(private readonly d: ReloaderDeps) {
    this.file = d.configFile;
  }

  /** The configuration file in effect (absent while the relay runs on the embedded default). */
  get configFile(): string | undefined {
    return this.file;
  }

  /**
   * Reads the file again and applies it. `file` is given when the relay runs
   * on the embedded default and a face has just written its first file: the
   * relay reads that file from then on.
   */
  reload(by: string, file?: string): Promise<ReloadResult> {
    const run = this.chain.then(() => this.run(by, file));
    this.chain = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.closed = true;
  }

  private async run(by: string, given: string | undefined): Promise<ReloadResult> {
    const log = this.d.log;
    const before = this.d.current();
    const file = this.file ?? (given ? resolve(given) : undefined);
    const refuse = (problems: string[], source: string): ReloadResult => {
      const message = `the configuration was not reloaded (${by}); the running configuration ${before.version.label} stays: ${problems.join('; ')}`;
      log.error({ event: 'reload-refused', by, source, problems, configVersion: before.version.label }, message);
      return { ok: false, version: before.version.label, source, problems, restartNeeded: [], message };
    };
    if (this.closed) return refuse(['the relay is stopping'], file ?? '(embedded default)');
    if (!file) {
      return refuse(['the relay runs on the embedded default and has no configuration file to read; write one (authrelay init, or a device added in the console creates ./authrelay.yaml)'], '(embedded default)');
    }
    if (!existsSync(file)) return refuse([`${file} does not exist (any more)`], file);
    let text: string;
    let config: Config;
    try {
      text = readFileSync(file, 'utf8');
      config = loadConfigFile(file, { env: this.d.env }).config;
    } catch (err) {
      return refuse(err instanceof ConfigError ? err.problems.length ? err.problems : [err.message] : [(err as Error).message], file);
    }
    const version = configVersion(before.version.seq + 1, text, file);
    let prepared: PreparedReload;
    try {
      prepared = await this.d.build(config, version);
    } catch (err) {
      return refuse([(err as Error).message], file);
    }
    let applied: { listeners: Changes; rerouted: number };
    try {
      applied = await prepared.commit();
    } catch (err) {
      // The swap itself does not fail; what can (re-routing in the store) is after it.
      log.error({ event: 'reload-incomplete', by, err: (err as Error).message }, `configuration ${version.label} is in effect, but a step after the swap failed: ${(err as Error).message}`);
      applied = { listeners: { added: [], changed: [], removed: [] }, rerouted: 0 };
    }
    this.file = file;
    const prev = before.config;
    const devices = diffNamed(prev.devices, config.devices);
    const routes = JSON.stringify(prev.routes) !== JSON.stringify(config.routes);
    const other = LIVE.filter((k) => JSON.stringify(prev[k]) !== JSON.stringify(config[k]));
    const restartNeeded = AT_START.filter((k) => JSON.stringify(prev[k]) !== JSON.stringify(config[k]));
    const changes = { devices, listeners: applied.listeners, upstreams: prepared.changes.upstreams, routes, rerouted: applied.rerouted, other };
    const said = describe(changes);
    const message = `configuration ${version.label} is in effect (${by})${said ? `: ${said}` : ': nothing changed'}` +
      (restartNeeded.length ? `. ${restartNeeded.join(', ')} changed and take${restartNeeded.length === 1 ? 's' : ''} effect at the next restart` : '');
    log.info({ event: 'reloaded', by, source: file, configVersion: version.label, changes, restartNeeded }, message);
    return { ok: true, version: version.label, source: file, changes, restartNeeded, message };
  }
}

function diffNamed<T extends { name: string }>(before: readonly T[], after: readonly T[]): Changes {
  const old = new Map(before.map((x) => [x.name, JSON.stringify(x)]));
  const now = new Map(after.map((x) => [x.name, JSON.stringify(x)]));
  return {
    added: [...now.keys()].filter((n) => !old.has(n)),
    changed: [...now.keys()].filter((n) => old.has(n) && old.get(n) !== now.get(n)),
    removed: [...old.keys()].filter((n) => !now.has(n)),
  };
}

function describe(c: NonNullable<ReloadResult['changes']>): string {
  const parts: string[] = [];
  const list = (what: string, x: Changes) => {
    if (x.added.length) parts.push(`${what} added: ${x.added.join(', ')}`);
    if (x.changed.length) parts.push(`${what} changed: ${x.changed.join(', ')}`);
    if (x.removed.length) parts.push(`${what} removed: ${x.removed.join(', ')}`);
  };
  list('devices', c.devices);
  list('listeners', c.listeners);
  list('upstreams', c.upstreams);
  if (c.routes) parts.push('routes changed');
  if (c.rerouted) parts.push(`${c.rerouted} queued message(s) routed again`);
  if (c.other.length) parts.push(`also changed: ${c.other.join(', ')}`);
  return parts.join('; ');
}
