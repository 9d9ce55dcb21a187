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

const only = process.argv.slice(2);
const files = only.length ? only : find('dist/test').sort();
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=600000', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
