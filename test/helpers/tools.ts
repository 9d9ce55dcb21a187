/**
 * Third-party clients and servers used by the tests: swaks, Python smtplib,
 * Postfix smtp-sink/smtp-source. In CI a missing tool is a failure, never a skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function requireTool(path: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${path}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${path} is not installed; .ci/run installs it (apt-get install swaks postfix)`);
  return r.stdout.trim();
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** swaks with the given arguments against 127.0.0.1:port. */
export function swaks(port: number, args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  requireTool('swaks');
  return run('swaks', ['--server', `127.0.0.1:${port}`, '--timeout', '30', ...args], opts);
}

/** Runs a Python 3 script (smtplib and friends) with argv. */
export function python(script: string, args: string[] = [], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return run('python3', ['-c', script, ...args], opts);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface SmtpSink {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Postfix smtp-sink on a free loopback port (or the one given); extra args inject faults (e.g. ['-q', '.'], ['-r', 'DATA']). */
export async function startSmtpSink(extra: string[] = [], onPort?: number): Promise<SmtpSink> {
  const bin = requireTool('/usr/sbin/smtp-sink');
  const port = onPort ?? (await freePort());
  const child = spawn(bin, ['-u', 'root', ...extra, `127.0.0.1:${port}`, '256'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // wait until it accepts connections
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('smtp-sink did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    child,
    stop: () => new Promise((r) => {
      // exitCode stays null for a process ended by a signal: check both, so stop() can be called twice.
      if (child.exitCode !== null || child.signalCode !== null) return r();
      child.once('exit', () => r());
      child.kill('SIGTERM');
    }),
  };
}

/**
 * The messages an smtp-sink started with `-d DIR/m.` has written (one file
 * per mail transaction: its X-Mail-Args/X-Rcpt-Args lines, then the message).
 */
export function sinkDumps(dir: string): { rcpt: string[]; subject: string | undefined; text: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.startsWith('m.')).map((f) => {
    const text = readFileSync(join(dir, f), 'latin1');
    const rcpt = [...text.matchAll(/^X-Rcpt-Args: <([^>]*)>/gm)].map((m) => m[1]!);
    return { rcpt, subject: /^Subject: (.*)$/m.exec(text)?.[1]?.trimEnd(), text };
  });
}
