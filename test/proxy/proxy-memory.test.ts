/**
 * Memory: 20 concurrent clients each FETCH a 25 MB message through one
 * proxy process (implicit TLS both sides, Dovecot upstream). The proxy runs
 * in a child process started as `npm start` starts the relay
 * (--max-semi-space-size=2); its peak RSS (VmHWM in /proc/PID/status) is
 * printed and must stay within issue 14's target of 150 MB (the messages
 * add up to 500 MB): the byte pipe streams, and the 20 logins of one device
 * cost one scrypt check (16 MB) thanks to the password cache.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bigMessage, startWorld, PASSWORD, type World } from './fixture.js';
import { streamingFetch } from './wire.js';

const SIZE = 25 * 1024 * 1024;
const CLIENTS = 20;
/** Issue 14's target for the whole proxy process. */
const TARGET = 150 * 1024 * 1024;

function status(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

describe('proxy memory', () => {
  let w: World;
  let child: ChildProcess | undefined;
  let expected: { size: number; sha256: string };
  before(async () => {
    w = await startWorld(['IMAP.AccessAsApp']);
    const raw = bigMessage(SIZE, 'a 25 MB scan');
    expected = { size: raw.length, sha256: createHash('sha256').update(raw).digest('hex') };
    w.dovecot.deliver(w.alice, raw);
  });
  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await w.close();
  });

  test(`${CLIENTS} concurrent clients each fetching a 25 MB message: peak RSS of the proxy`, { timeout: 300_000 }, async () => {
    const token = (await w.tokens().getToken()).token;
    const script = fileURLToPath(new URL('./proxy-process.js', import.meta.url));
    const settings = { upstreamPort: w.dovecot.imapPort, ca: w.certPem, certFile: w.certFile, keyFile: w.keyFile, token, devices: w.devices };
    const c = spawn(process.execPath, ['--max-semi-space-size=2', script], {
      env: { ...process.env, AUTHRELAY_PROXY_CHILD: JSON.stringify(settings) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
      });
      c.once('exit', (code) => reject(new Error(`the proxy process exited with ${code}: ${stderr}`)));
    });
    const idle = status(c.pid!, 'VmHWM');
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: CLIENTS }, () => streamingFetch(port, w.certPem, 'reader', PASSWORD)));
    const seconds = (Date.now() - started) / 1000;
    const peak = status(c.pid!, 'VmHWM');
    for (const r of results) assert.deepEqual(r, expected);
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
    console.log(`# proxy memory: ${CLIENTS} x ${mb(SIZE)} MB FETCH in ${seconds.toFixed(1)} s; proxy peak RSS ${mb(peak)} MB (${mb(idle)} MB after start)`);
    assert.ok(peak <= TARGET, `peak RSS ${mb(peak)} MB (target ${mb(TARGET)} MB): the messages are streamed, never held`);
    assert.equal(stderr.includes('"level":"error"'), false, stderr);
  });
});
