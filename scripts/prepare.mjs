#!/usr/bin/env node
// `npm ci` and `npm install` in a source tree run this (the "prepare" script): it
// builds dist/, so that `npx authrelay ...` works right after installing. Where
// there is nothing to build (a container build installing packages before the
// sources are copied in, or an installed package), it does nothing.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

if (!existsSync('tsconfig.json') || !existsSync('src')) process.exit(0);
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  process.exit(0); // installed without the development packages: nothing to build with
}
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
