#!/usr/bin/env node
// Builds dist/ from the TypeScript sources.
// - `npm ci` and `npm install` in a source tree run this (the "prepare" script), so that
//   `npx authrelay ...` works right after installing. Where there is nothing to build (a
//   container build installing packages before the sources are copied in, or an installed
//   package), it does nothing.
// - `npm start` runs it with --when-stale (the "prestart" script): it builds only when a
//   source file (or tsconfig.json) is newer than the last build, so a start after `npm ci`
//   does not compile again.
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const STAMP = join('dist', '.built');

if (!existsSync('tsconfig.json') || !existsSync('src')) process.exit(0);

/** The newest modification time of the files the build reads. */
function newestSource() {
  let newest = statSync('tsconfig.json').mtimeMs;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const dir of ['src', 'test', 'bench']) if (existsSync(dir)) walk(dir);
  return newest;
}

if (process.argv.includes('--when-stale') && existsSync(STAMP) && statSync(STAMP).mtimeMs >= newestSource()) process.exit(0);

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  process.exit(0); // installed without the development packages: nothing to build with
}
const startedAt = Date.now();
let r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { stdio: 'inherit' });
// The libraries needed before the listeners open, bundled one module each (scripts/vendor.mjs).
if (r.status === 0) r = spawnSync(process.execPath, [join('scripts', 'vendor.mjs')], { stdio: 'inherit' });
if (r.status === 0) {
  // Stamped with the time the build started: a source saved during the build makes the next start build again.
  writeFileSync(STAMP, `${new Date(startedAt).toISOString()}\n`);
  utimesSync(STAMP, new Date(startedAt), new Date(startedAt));
}
process.exit(r.status ?? 1);
