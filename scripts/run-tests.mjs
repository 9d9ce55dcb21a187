#!/usr/bin/env node
// Runs the compiled test suite with node:test. In CI (CI=true) every external
// tool the tests use must be present: a missing one fails the run instead of
// letting tests be skipped.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const required = ['swaks', 'python3', '/usr/sbin/smtp-sink', '/usr/sbin/smtp-source', 'openssl', 'strace', '/usr/bin/chromium'];
const missing = required.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
if (missing.length) {
  console.error(`missing test tools: ${missing.join(', ')} (run: apt-get install swaks postfix openssl strace chromium)`);
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
