/**
 * Starts the real relay in this process on port-0 listeners with a fresh
 * data directory, and gives tests what they need to talk to it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput, Config } from '../../src/config/schema.js';
import { createLogger, type Logger } from '../../src/core/log.js';
import { startRelay, type RunningRelay } from '../../src/main.js';
import { firstFileText } from '../../src/config/editor.js';
import type { QueuedMessage, MessageState } from '../../src/spool/store.js';

export interface TestRelay extends RunningRelay {
  config: Config;
  dataDir: string;
  /** Port of the listener with this name (or the first one). */
  port(name?: string): number;
  /** Log lines written so far, parsed. */
  logs: Record<string, unknown>[];
  /** The relay's logger (writes into logs). */
  logger: Logger;
  /** Waits until the message reaches one of the states; returns it. */
  waitFor(id: string, states: MessageState[], timeoutMs?: number): Promise<QueuedMessage>;
  /** URL of a path on the admin server (on a port-0 loopback address unless the config sets admin). */
  adminUrl(path: string): string;
  close(): Promise<void>;
}

/**
 * opts.dataDir: start on an existing spool (a restart); the caller removes it.
 * Without it, a fresh directory is made and removed by close().
 * opts.file: the configuration is written to dataDir/authrelay.yaml and the
 * relay started on that file (so it can be edited and reloaded); without it
 * the relay runs without a file, and a first change from the console goes to
 * dataDir/authrelay.yaml.
 */
export async function startTestRelay(input: ConfigInput = {}, opts: { dataDir?: string; file?: boolean } = {}): Promise<TestRelay> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'authrelay-test-'));
  const raw: ConfigInput = {
    hostname: 'relay.test',
    listeners: [{ name: 'main', host: '127.0.0.1', port: 0, tls: 'starttls' }],
    queue: { pollInterval: '100ms', minBackoff: '1s', maxBackoff: '2s', destinationMinBackoff: '1s', destinationMaxBackoff: '2s' },
    security: { authFailureDelay: '50ms' },
    log: { level: 'debug' },
    admin: { listen: '127.0.0.1:0' },
    // A test that leaves a session in the middle of a message does not hold close() for the default 30 s.
    shutdownTimeout: '5s',
    ...input,
    dataDir,
  };
  const config = validateConfig(raw, { env: process.env }, dataDir);
  const configFile = join(dataDir, 'authrelay.yaml');
  if (opts.file) writeFileSync(configFile, stringify(raw));
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const log = createLogger(config.log.level, sink);
  // Without a file, the first change from the console writes this relay's own settings (as the embedded default's file would hold the embedded default).
  const relay = await startRelay(config, log, opts.file ? { configFile } : { newConfigFile: { path: configFile, text: `${firstFileText('the console')}${stringify(raw)}` } });
  const port = (name?: string) => {
    const l = name ? relay.listeners.find((x) => x.name === name) ?? relay.readers.find((x) => x.name === name) : relay.listeners[0];
    if (!l) throw new Error(`no listener ${name}`);
    return l.port;
  };
  const test: TestRelay = {
    ...relay,
    get listeners() {
      return relay.listeners;
    },
    get readers() {
      return relay.readers;
    },
    config,
    dataDir,
    logs,
    logger: log,
    port,
    adminUrl: (path: string) => {
      if (!relay.admin?.port) throw new Error('the admin server is not running');
      return `http://127.0.0.1:${relay.admin.port}${path}`;
    },
    waitFor: async (id, states, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = await relay.store.get(id);
        if (m && states.includes(m.state)) return m;
        if (Date.now() > deadline) throw new Error(`message ${id} is ${m?.state ?? 'missing'}, not ${states.join('/')} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: async () => {
      await relay.stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return test;
}

/** The queue id in a relay's 250 reply. */
export function queueIdOf(response: string): string {
  const m = /queued as ([A-Z0-9.]+)/.exec(response);
  if (!m) throw new Error(`no queue id in ${JSON.stringify(response)}`);
  return m[1]!;
}
