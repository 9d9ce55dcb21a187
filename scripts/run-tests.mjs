#!/usr/bin/env node
// Runs the compiled test suite with node:test. In CI (CI=true) every external
// tool the tests use must be present: a missing one fails the run instead of
// letting tests be skipped.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

// tool (a command, or a shell pattern for a file) → the Debian package that has it
const required = {
  swaks: 'swaks', python3: 'python3', '/usr/sbin/smtp-sink': 'postfix', '/usr/sbin/smtp-source': 'postfix', openssl: 'openssl',
  strace: 'strace', '/usr/bin/chromium': 'chromium', nmap: 'nmap', 'systemd-analyze': 'systemd',
  '/usr/lib/postgresql/*/bin/initdb': 'postgresql',
  '/usr/sbin/dovecot': 'dovecot-imapd', '/usr/lib/dovecot/pop3': 'dovecot-pop3d', fetchmail: 'fetchmail',
};
const present = (t) => (t.includes('*') ? spawnSync('sh', ['-c', `ls ${t}`], { stdio: 'ignore' }) : spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' })).status === 0;
const missing = Object.keys(required).filter((t) => !present(t));
if (missing.length) {
  const pkgs = [...new Set(missing.map((t) => required[t]))];
  console.error(`missing test tools: ${missing.join(', ')} (run: apt-get install ${pkgs.join(' ')})`);
  process.exit(1);
}

function find(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return find(p);
    return p.endsWith('.test.js') ? [p] : [];
  });
}

// Timeouts, so that a hang shows in minutes:
// - each test and hook: 3 minutes unless it sets its own ({ timeout } on the test or on its
//   describe); added by scripts/test-timeout.mjs, preloaded into every test file;
// - each file's process, once its tests have ended: 60 s to exit (an open handle fails the file);
// - each file as a whole (Node 20's --test-timeout): 30 minutes, a last resort above the longest
//   tests' own timeouts (the Docker build and the crash suites take up to 15 minutes).
const only = process.argv.slice(2);
const files = only.length ? only : find('dist/test').sort();
const preload = new URL('./test-timeout.mjs', import.meta.url).href;
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=1800000', `--import=${preload}`, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
