/**
 * The real `authrelay` binary (dist/src/cli/main.js) as a child process:
 * one-shot CLI commands, and `serve` as a long-running process whose pino
 * JSON lines are collected. Used by the crash and CLI tests, which must not
 * run the relay in the test's own process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from './tools.js';
import { loadConfigFile } from '../../src/config/load.js';
import { askRelay } from '../../src/cli/control-client.js';

/** The compiled command line; the tests run from dist/test/**. */
export const BIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export function tempDir(prefix = 'authrelay-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes a config file into dir and returns its path. */
export function writeConfig(dir: string, yamlText: string, name = 'authrelay.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, yamlText);
  return file;
}

/**
 * The environment of a test's child process: this one's, in English (the
 * CLI follows LC_ALL, LC_MESSAGES and LANG; a Japanese locale on the machine
 * that runs the tests must not change what the tests read).
 */
export function englishEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, LANG: 'C', LC_ALL: undefined, LC_MESSAGES: undefined };
}

/** Runs `authrelay ARGS...` to completion, in English unless `locale` names another (it becomes LANG; LC_ALL and LC_MESSAGES are unset). */
export function cli(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; locale?: string } = {}): Promise<RunResult> {
  const { locale, env, ...rest } = opts;
  return run(process.execPath, [BIN, ...args], { timeoutMs: 60_000, ...rest, env: { ...englishEnv(env), ...(locale ? { LANG: locale } : {}) } });
}

/** `authrelay ARGS... --json`, parsed; fails with the command's output when it does not exit 0. */
export async function cliJson<T>(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<T> {
  const r = await cli([...args, '--json'], opts);
  if (r.code !== 0) throw new Error(`authrelay ${args.join(' ')} --json exited ${r.code}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RelayProcess {
  child: ChildProcess;
  /** Ports of the listeners by name, from the "listening" log lines. */
  ports: Record<string, number>;
  /** Port of the first listener. */
  port: number;
  /** Every stdout line, parsed (non-JSON lines as { raw }). */
  logs: Record<string, unknown>[];
  /** Everything on stdout and stderr, as text. */
  stdout(): string;
  stderr(): string;
  exited: Promise<ExitStatus>;
  /** Sends a signal to the relay itself (not to a wrapper such as strace) and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<ExitStatus>;
  /** SIGTERM, then SIGKILL after timeoutMs. */
  stop(timeoutMs?: number): Promise<ExitStatus>;
  waitForLog(match: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** A wrapper command and its arguments put before `node main.js serve ...` (e.g. strace). */
  wrap?: string[];
  /** How many "listening" lines to wait for (default 1). */
  listeners?: number;
  timeoutMs?: number;
  /** Keep parsed log lines (default true; the crash test keeps only the last ones). */
  keepLogs?: boolean;
}

/** Starts `authrelay serve --config FILE` and resolves once its listeners are up. */
export async function startRelayProcess(configFile: string, opts: StartOptions = {}): Promise<RelayProcess> {
  const argv = [process.execPath, BIN, 'serve', '--config', configFile];
  const cmd = opts.wrap ? [...opts.wrap, ...argv] : argv;
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? englishEnv() });
  const logs: Record<string, unknown>[] = [];
  let out = '';
  let err = '';
  let partial = '';
  const watchers = new Set<() => void>();
  const tail: string[] = [];
  child.stdout!.on('data', (c: Buffer) => {
    const text = partial + c.toString('utf8');
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      if (opts.keepLogs !== false) out += `${line}\n`;
      else {
        tail.push(line);
        if (tail.length > 200) tail.shift();
      }
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        parsed = { raw: line };
      }
      if (opts.keepLogs !== false || parsed.event === 'listening' || parsed.event === 'spool-cleanup' || parsed.event === 'recovered') logs.push(parsed);
    }
    for (const w of watchers) w();
  });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<ExitStatus>((resolve) => child.once('exit', (code, signal) => {
    for (const w of watchers) w();
    resolve({ code, signal });
  }));
  let exitStatus: ExitStatus | undefined;
  void exited.then((s) => (exitStatus = s));

  const waitForLog = (match: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const hit = logs.find(match);
        if (hit) return done(() => resolve(hit));
        if (child.exitCode !== null || child.signalCode !== null) {
          done(() => reject(new Error(`the relay exited (${child.exitCode ?? child.signalCode}) before the expected log line\nstderr: ${err}\nstdout: ${out || tail.join('\n')}`)));
        }
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no matching log line within ${timeoutMs} ms\nstderr: ${err}\nstdout: ${out || tail.join('\n')}`))), timeoutMs);
      const done = (f: () => void) => {
        clearTimeout(timer);
        watchers.delete(check);
        f();
      };
      watchers.add(check);
      check();
    });

  /** The relay's pid: the child itself, or the wrapper's child (strace forks the traced program). */
  const relayPid = (): number | undefined => {
    if (!opts.wrap) return child.pid;
    try {
      const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      return kids.length ? Number(kids[0]) : undefined;
    } catch {
      return undefined;
    }
  };
  const signal = (s: NodeJS.Signals) => {
    const pid = relayPid();
    if (pid === undefined || exitStatus) return;
    try {
      process.kill(pid, s);
    } catch {
      /* already gone */
    }
  };

  // The relay is up when its control socket answers (whatever the log level); it names the bound listeners.
  const want = opts.listeners ?? 1;
  let dataDir: string | undefined;
  try {
    dataDir = loadConfigFile(configFile, { env: opts.env ?? process.env }).config.dataDir;
  } catch {
    // A file the relay refuses too: it exits, and that is the answer.
  }
  let bound: { name: string; port: number }[] | undefined;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (!bound) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the relay exited (${child.exitCode ?? child.signalCode}) before it was up\nstderr: ${err}\nstdout: ${out || tail.join('\n')}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the relay was not up within ${opts.timeoutMs ?? 60_000} ms\nstderr: ${err}\nstdout: ${out || tail.join('\n')}`);
    }
    const status = dataDir ? await askRelay<{ listeners: { name: string; port: number }[] }>(dataDir, { cmd: 'status' }, 5_000).catch(() => undefined) : undefined;
    if (status && status.listeners.length >= want) bound = status.listeners;
    else await sleep(50);
  }
  const ports: Record<string, number> = {};
  for (const l of bound) ports[l.name] = l.port;
  return {
    child,
    ports,
    // A relay with reader listeners only (listeners: 0) has no SMTP port.
    port: bound[0]?.port ?? 0,
    logs,
    stdout: () => out || tail.join('\n'),
    stderr: () => err,
    exited,
    waitForLog,
    kill: async (s) => {
      signal(s);
      return exited;
    },
    stop: async (timeoutMs = 15_000) => {
      signal('SIGTERM');
      const t = setTimeout(() => {
        signal('SIGKILL');
        child.kill('SIGKILL');
      }, timeoutMs);
      const st = await exited;
      clearTimeout(t);
      return st;
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until check() returns a value other than undefined, or throws describe() after timeoutMs. */
export async function until<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, describe: () => string | Promise<string>, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${await describe()}`);
    await sleep(everyMs);
  }
}

/**
 * `authrelay oauth login UPSTREAM --config FILE`, approving the device code it
 * prints (the test plays the user at the sign-in page) with `approve`.
 */
export function oauthLoginApproving(configFile: string, upstream: string, approve: (code: string) => void, env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'oauth', 'login', upstream, '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    let stdout = '';
    let stderr = '';
    let approved = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      const m = /enter the code ([A-Z0-9]+) to authenticate/.exec(stdout);
      if (m && !approved) {
        approved = true;
        approve(m[1]!);
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
