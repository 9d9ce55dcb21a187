/**
 * The package as people install it: `npm pack` makes a tarball that
 * `npm install -g` installs into a clean prefix, and the installed
 * `authrelay` runs: --version, help (naming the command as `authrelay`, not
 * `npx authrelay`), and `serve`, which accepts SMTP and stops on SIGTERM.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/tools.js';
import { until } from '../helpers/relay-process.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'authrelay-package-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('npm pack, npm install -g into a clean prefix, then authrelay --version, help and serve', { timeout: 600_000 }, async () => {
  // dist/ is built already (npm test builds first): pack it as it is.
  const pack = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { timeoutMs: 120_000, env: { ...process.env, npm_config_loglevel: 'error' } });
  assert.equal(pack.code, 0, pack.stderr);
  const tarball = readdirSync(dir).find((f) => /^authrelay-.*\.tgz$/.test(f));
  assert.ok(tarball, pack.stdout);
  const prefix = join(dir, 'prefix');
  // npm 11 asks before running install scripts of a global install: better-sqlite3's builds its native part.
  const install = await run('npm', ['install', '-g', '--prefix', prefix, '--allow-scripts=better-sqlite3', '--no-audit', '--no-fund', join(dir, tarball)],
    { timeoutMs: 480_000, env: { ...process.env, npm_config_loglevel: 'error' } });
  assert.equal(install.code, 0, install.stderr + install.stdout);
  const bin = join(prefix, 'bin', 'authrelay');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.AUTHRELAY_COMMAND;

  const v = await run(bin, ['--version'], { env });
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /^authrelay \d+\.\d+\.\d+\n$/);
  const help = await run(bin, ['help'], { env });
  assert.match(help.stdout, /\n {2}authrelay serve /, 'installed, the command is authrelay');
  assert.ok(!help.stdout.includes('npx authrelay'), help.stdout);

  const config = join(dir, 'authrelay.yaml');
  writeFileSync(config, `dataDir: ${join(dir, 'data')}\nlisteners: [{ name: main, host: 127.0.0.1, port: 0, tls: none }]\nadmin: { enabled: false }\n`);
  const child = spawn(bin, ['serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  try {
    const port = await until(() => /"event":"listening".*?"port":(\d+)/.exec(out)?.[1], 30_000, () => `the installed relay did not listen:\n${out}`);
    const w = await SmtpWire.open(Number(port));
    assert.match(w.greeting!.raw, /^220 .* ESMTP authrelay ready$/);
    w.close();
  } finally {
    child.kill('SIGTERM');
  }
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 0, out);
});
