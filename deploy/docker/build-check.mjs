#!/usr/bin/env node
/**
 * Checks deploy/docker/Dockerfile without Docker: runs its steps in a temporary
 * directory and starts the result.
 *
 *   node deploy/docker/build-check.mjs [--json] [--keep] [--dockerfile FILE] [--context DIR]
 *
 * The Dockerfile itself is read, not a copy of its steps: each stage gets a
 * directory that stands for the image's file system; COPY takes files from the
 * build context minus what the .dockerignore leaves out (FILE.dockerignore beside
 * the Dockerfile, else .dockerignore in the context, as BuildKit does) or from an
 * earlier stage; RUN runs with `sh -c` in the stage's WORKDIR with its ENV. A RUN
 * step preceded by a comment line "# build-check: skip (why)" is reported and
 * not run (operating system packages, accounts), and a RUN step that is run may
 * not name absolute paths, which would reach outside the temporary directory.
 *
 * Then, on the last stage: its package.json's devDependencies must be gone from
 * node_modules; ENTRYPOINT + `config check` must accept the configuration named
 * in CMD; ENTRYPOINT + CMD (the configuration with its paths and ports moved into
 * the temporary directory) must start, greet on SMTP, answer /healthz, /readyz
 * and the console page; the HEALTHCHECK command must pass while it runs and fail
 * once STOPSIGNAL has stopped it, which must end it with exit code 0.
 *
 * Exit code 0 when every step and check passed; 1 with the reason otherwise.
 * --json prints a summary of what was run and checked on standard output
 * (progress goes to standard error either way).
 */
/* global setTimeout, clearTimeout, fetch, AbortSignal */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import { basename, dirname, join, posix, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

const HERE = dirname(fileURLToPath(import.meta.url));
const SKIP_MARK = /^#\s*build-check:\s*skip\b\s*(.*)$/;

export class CheckError extends Error {}

// ---------------------------------------------------------------- Dockerfile

/**
 * Parses a Dockerfile into instructions: { line, keyword, rest, skip? }.
 * Continuation lines (a trailing backslash) are joined; comment lines inside a
 * continuation are dropped, as Docker does.
 */
export function parseDockerfile(text) {
  const lines = text.split(/\r?\n/);
  const out = [];
  let pendingSkip;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const trimmed = raw.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      const m = SKIP_MARK.exec(trimmed);
      if (m) pendingSkip = m[1].trim().replace(/^\((.*)\)$/, '$1') || 'marked build-check: skip';
      continue;
    }
    const start = i + 1;
    let joined = raw;
    while (/\\\s*$/.test(joined) && i + 1 < lines.length) {
      joined = joined.replace(/\\\s*$/, '');
      i++;
      while (i < lines.length && lines[i].trim().startsWith('#')) i++;
      if (i < lines.length) joined += `\n${lines[i]}`;
    }
    const m = /^\s*([A-Za-z]+)\s*([\s\S]*)$/.exec(joined);
    if (!m) throw new CheckError(`Dockerfile line ${start}: cannot read "${trimmed}"`);
    const ins = { line: start, keyword: m[1].toUpperCase(), rest: m[2].replace(/\s*\n\s*/g, ' ').trim() };
    if (pendingSkip !== undefined) {
      if (ins.keyword !== 'RUN') throw new CheckError(`Dockerfile line ${start}: "# build-check: skip" is for RUN steps, not ${ins.keyword}`);
      ins.skip = pendingSkip;
      pendingSkip = undefined;
    }
    out.push(ins);
  }
  return out;
}

/** Leading --name=value flags of COPY, RUN, HEALTHCHECK; returns { flags, rest }. */
export function splitFlags(rest) {
  const flags = {};
  let r = rest;
  for (;;) {
    const m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(r);
    if (!m) break;
    flags[m[1]] = m[2] ?? 'true';
    r = r.slice(m[0].length);
  }
  return { flags, rest: r };
}

/** The JSON (exec) form ["a", "b"], or undefined for the shell form. */
export function execForm(rest) {
  if (!rest.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(rest);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    /* shell form after all */
  }
  return undefined;
}

/** ${NAME} / $NAME from ARG values. */
function substitute(text, vars) {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, a, b) => vars[a ?? b] ?? all);
}

/** ENV K=V K2="v 2" (and the old ENV K V form). */
function parseEnv(rest) {
  const env = {};
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(rest)) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(rest);
    if (m) env[m[1]] = m[2];
    return env;
  }
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  for (const m of rest.matchAll(re)) {
    let v = m[2];
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    else if (v.startsWith("'")) v = v.slice(1, -1);
    env[m[1]] = v;
  }
  return env;
}

// ------------------------------------------------------------- .dockerignore

/** Reads a .dockerignore into [{ negate, re, prefix }], in order. */
export function parseDockerignore(text) {
  const rules = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1).trim();
    line = posix.normalize(line.replace(/^\/+/, '')).replace(/\/+$/, '');
    if (line === '.' || line === '') continue;
    rules.push({ negate, re: globToRegExp(line), prefix: line.split(/[*?[]/)[0], pattern: line });
  }
  return rules;
}

function globToRegExp(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i);
      if (end < 0) re += '\\[';
      else {
        re += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Whether a context path (relative, with /) is left out: the last rule that matches it or a parent decides. */
export function isIgnored(rules, path) {
  const parts = path.split('/');
  let ignored = false;
  for (const rule of rules) {
    let hit = false;
    for (let n = parts.length; n >= 1 && !hit; n--) hit = rule.re.test(parts.slice(0, n).join('/'));
    if (hit) ignored = !rule.negate;
  }
  return ignored;
}

/** Whether an exception rule could bring back something under dir. */
function mayHaveExceptions(rules, dir) {
  return rules.some((r) => r.negate && (r.prefix.startsWith(`${dir}/`) || `${dir}/`.startsWith(r.prefix) || r.prefix === ''));
}

/** The files and directories the builder would get: context-relative paths. */
export function contextEntries(contextDir, rules) {
  const files = new Set();
  const walk = (rel) => {
    for (const name of readdirSync(join(contextDir, rel))) {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(contextDir, p));
      const ignored = isIgnored(rules, p);
      if (st.isDirectory()) {
        if (!ignored) files.add(`${p}/`);
        if (!ignored || mayHaveExceptions(rules, p)) walk(p);
      } else if (!ignored) files.add(p);
    }
  };
  walk('');
  return files;
}

// ------------------------------------------------------------------ the steps

function log(msg) {
  process.stderr.write(`build-check: ${msg}\n`);
}

function runShell(cmd, cwd, env, timeoutMs) {
  return new Promise((resolveRun, reject) => {
    const child = spawn('sh', ['-c', cmd], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (c) => {
      process.stderr.write(c);
      tail = (tail + c.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new CheckError(`RUN ${cmd}: still running after ${timeoutMs / 1000} s; stopped`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(t);
      if (code === 0) resolveRun();
      else reject(new CheckError(`RUN ${cmd}: exit code ${code}\n${tail}`));
    });
  });
}

/** Copies src (file or directory) like COPY: a directory's contents go into dest; filter(relPath) may leave entries out. */
function copyInto(src, dest, destIsDir, filter) {
  const st = statSync(src);
  if (st.isDirectory()) {
    mkdirSync(dest, { recursive: true });
    cpSync(src, dest, { recursive: true, verbatimSymlinks: true, filter: (from) => (filter ? filter(from) : true) });
    return;
  }
  const target = destIsDir ? join(dest, basename(src)) : dest;
  mkdirSync(dirname(target), { recursive: true });
  cpSync(src, target, { verbatimSymlinks: true });
}

/**
 * Runs the Dockerfile's steps under workDir. Returns the stages
 * ({ name, base, root, workdir, env, ... }) and a record of what was done.
 */
export async function buildStages({ dockerfile, contextDir, workDir, runTimeoutMs = 20 * 60_000 }) {
  const instructions = parseDockerfile(readFileSync(dockerfile, 'utf8'));
  const ignoreFile = [`${dockerfile}.dockerignore`, join(contextDir, '.dockerignore')].find((f) => existsSync(f));
  const rules = ignoreFile ? parseDockerignore(readFileSync(ignoreFile, 'utf8')) : [];
  const context = contextEntries(contextDir, rules);
  const record = { dockerfile, ignoreFile: ignoreFile ?? null, context: [...context].sort(), stages: [], run: [], skipped: [], copied: [] };
  const globalArgs = {};
  const stages = [];
  let stage;
  const inStage = (p) => join(stage.root, p);
  const absInStage = (p) => (p.startsWith('/') ? p : posix.join(stage.workdir, p));

  for (const ins of instructions) {
    const where = `Dockerfile line ${ins.line}`;
    if (!stage && !['FROM', 'ARG'].includes(ins.keyword)) throw new CheckError(`${where}: ${ins.keyword} before FROM`);
    switch (ins.keyword) {
      case 'ARG': {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.rest);
        if (!m) throw new CheckError(`${where}: cannot read ARG ${ins.rest}`);
        const vars = stage ? stage.args : globalArgs;
        vars[m[1]] = m[2] !== undefined ? m[2].replace(/^"(.*)"$/, '$1') : (globalArgs[m[1]] ?? '');
        break;
      }
      case 'FROM': {
        const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.rest);
        if (!m) throw new CheckError(`${where}: cannot read FROM ${ins.rest}`);
        const base = substitute(m[1], globalArgs);
        if (stages.some((s) => s.name === base)) throw new CheckError(`${where}: FROM an earlier stage is not supported by this check`);
        const name = m[2] ?? String(stages.length);
        stage = { name, base, root: join(workDir, 'stages', name), workdir: '/', env: {}, args: {}, user: 'root', expose: [], volumes: [] };
        mkdirSync(stage.root, { recursive: true });
        stages.push(stage);
        record.stages.push({ name, base });
        log(`stage ${name} (FROM ${base})`);
        break;
      }
      case 'WORKDIR':
        stage.workdir = absInStage(substitute(ins.rest, { ...stage.args, ...stage.env }));
        mkdirSync(inStage(stage.workdir), { recursive: true });
        break;
      case 'ENV':
        Object.assign(stage.env, parseEnv(ins.rest));
        break;
      case 'COPY':
      case 'ADD': {
        if (ins.keyword === 'ADD') throw new CheckError(`${where}: use COPY (ADD is not supported by this check)`);
        const { flags, rest } = splitFlags(ins.rest);
        const parts = execForm(rest) ?? rest.split(/\s+/);
        if (parts.length < 2) throw new CheckError(`${where}: COPY needs a source and a destination`);
        const dest = absInStage(parts.at(-1));
        const sources = parts.slice(0, -1);
        const destIsDir = dest.endsWith('/') || sources.length > 1 || (existsSync(inStage(dest)) && statSync(inStage(dest)).isDirectory());
        for (const src of sources) {
          if (/[*?[]/.test(src)) throw new CheckError(`${where}: wildcards in COPY sources are not supported by this check`);
          if (flags.from) {
            const from = stages.find((s) => s.name === flags.from);
            if (!from) throw new CheckError(`${where}: COPY --from=${flags.from}: no earlier stage of that name`);
            const abs = src.startsWith('/') ? src : posix.join(from.workdir, src);
            const path = join(from.root, abs);
            if (!existsSync(path)) throw new CheckError(`${where}: COPY --from=${flags.from} ${src}: not found in that stage`);
            copyInto(path, inStage(dest), destIsDir);
          } else {
            const rel = posix.normalize(src).replace(/^\/+/, '').replace(/\/+$/, '');
            if (rel.startsWith('..')) throw new CheckError(`${where}: COPY ${src}: outside the build context`);
            if (!context.has(rel) && !context.has(`${rel}/`)) {
              throw new CheckError(`${where}: COPY ${src}: not found in the build context${ignoreFile ? ` (left out by ${basename(ignoreFile)}?)` : ''}`);
            }
            const base = join(contextDir, rel);
            copyInto(base, inStage(dest), destIsDir, (from) => {
              const r = posix.join(rel, resolve(from).slice(resolve(base).length).split(/[\\/]/).filter(Boolean).join('/'));
              return r === rel || context.has(r) || context.has(`${r}/`);
            });
          }
        }
        record.copied.push({ stage: stage.name, line: ins.line, from: flags.from ?? 'context', sources, dest, flags });
        break;
      }
      case 'RUN': {
        const { flags, rest } = splitFlags(ins.rest);
        const cmd = execForm(rest)?.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ') ?? rest;
        if (ins.skip !== undefined) {
          record.skipped.push({ stage: stage.name, line: ins.line, command: cmd, reason: ins.skip });
          log(`skip RUN ${cmd.split(' ').slice(0, 4).join(' ')} ... (${ins.skip})`);
          break;
        }
        if (Object.keys(flags).length) throw new CheckError(`${where}: RUN flags (${Object.keys(flags).join(', ')}) are not supported by this check`);
        const abs = cmd.split(/\s+/).find((w) => /^["']?\//.test(w));
        if (abs) throw new CheckError(`${where}: RUN ${cmd}: names the absolute path ${abs}, which would be outside the temporary image; use a path relative to WORKDIR or mark the step "# build-check: skip (why)"`);
        log(`RUN ${cmd}  (in ${stage.workdir})`);
        const env = { ...process.env, npm_config_prefer_offline: process.env.npm_config_prefer_offline ?? 'true', ...stage.env };
        const started = Date.now();
        await runShell(cmd, inStage(stage.workdir), env, runTimeoutMs);
        record.run.push({ stage: stage.name, line: ins.line, command: cmd, seconds: Math.round((Date.now() - started) / 100) / 10 });
        break;
      }
      case 'USER':
        stage.user = ins.rest;
        break;
      case 'EXPOSE':
        stage.expose.push(...ins.rest.split(/\s+/));
        break;
      case 'VOLUME':
        stage.volumes.push(...(execForm(ins.rest) ?? ins.rest.split(/\s+/)));
        break;
      case 'STOPSIGNAL':
        stage.stopSignal = ins.rest;
        break;
      case 'HEALTHCHECK': {
        const { flags, rest } = splitFlags(ins.rest);
        if (!rest.startsWith('CMD ')) throw new CheckError(`${where}: HEALTHCHECK must be HEALTHCHECK [options] CMD ...`);
        const body = rest.slice(4).trim();
        stage.healthcheck = { flags, cmd: execForm(body) ?? ['sh', '-c', body] };
        break;
      }
      case 'ENTRYPOINT':
        stage.entrypoint = execForm(ins.rest) ?? ['sh', '-c', ins.rest];
        break;
      case 'CMD':
        stage.cmd = execForm(ins.rest) ?? ['sh', '-c', ins.rest];
        break;
      case 'LABEL':
        break;
      default:
        throw new CheckError(`${where}: ${ins.keyword} is not supported by this check; teach deploy/docker/build-check.mjs what it means`);
    }
  }
  if (!stage) throw new CheckError('the Dockerfile has no FROM');
  return { stages, record };
}

// ------------------------------------------------------------------ the result

function freePort() {
  return new Promise((resolveP, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolveP(port));
    });
  });
}

/** An image path → the stage's directory when it exists there; `node` → this Node.js. */
function mapArg(stage, arg) {
  if (arg === 'node') return process.execPath;
  if (arg.startsWith('/') && existsSync(join(stage.root, arg))) return join(stage.root, arg);
  return arg;
}

function runArgv(argv, { cwd, env, timeoutMs = 60_000 }) {
  return new Promise((resolveRun) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      resolveRun({ code, signal, out });
    });
  });
}

async function httpGet(url) {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
}

/** The first line the listener sends: over TLS from the start on an implicit-TLS listener. */
function smtpGreeting(port, implicitTls) {
  return new Promise((resolveG, reject) => {
    const s = implicitTls ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }) : connect(port, '127.0.0.1');
    let buf = '';
    const t = setTimeout(() => (s.destroy(), reject(new CheckError(`no SMTP greeting on port ${port} within 10 s`))), 10_000);
    s.on('data', (c) => {
      buf += c;
      if (buf.includes('\r\n')) {
        clearTimeout(t);
        s.end('QUIT\r\n');
        resolveG(buf.split('\r\n')[0]);
      }
    });
    s.on('error', (e) => (clearTimeout(t), reject(e)));
  });
}

/** Starts the last stage like `docker run` would and checks it; returns what was seen. */
export async function checkImage(stage, workDir) {
  const checks = {};
  const env = { ...process.env, ...stage.env };
  for (const [k, v] of Object.entries(stage.env)) if (v.startsWith('/') && existsSync(join(stage.root, v))) env[k] = join(stage.root, v);
  const cwd = join(stage.root, stage.workdir);
  if (!stage.entrypoint || !stage.cmd) throw new CheckError('the last stage needs ENTRYPOINT and CMD');
  if (stage.user === 'root' || stage.user === '0') throw new CheckError('the last stage runs as root; add USER');
  const entry = stage.entrypoint.map((a) => mapArg(stage, a));

  // Production dependencies only.
  const pkg = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8'));
  const nm = join(cwd, 'node_modules');
  const leftDev = Object.keys(pkg.devDependencies ?? {}).filter((d) => existsSync(join(nm, d)));
  if (leftDev.length) throw new CheckError(`devDependencies left in the image's node_modules: ${leftDev.join(', ')} (npm prune --omit=dev missing?)`);
  const missing = Object.keys(pkg.dependencies ?? {}).filter((d) => !existsSync(join(nm, d, 'package.json')));
  if (missing.length) throw new CheckError(`dependencies missing from the image's node_modules: ${missing.join(', ')}`);
  checks.dependencies = { production: Object.keys(pkg.dependencies ?? {}).length, devLeft: 0 };

  // The configuration CMD names must be valid.
  const ci = stage.cmd.indexOf('--config') >= 0 ? stage.cmd.indexOf('--config') : stage.cmd.indexOf('-c');
  if (ci < 0 || !stage.cmd[ci + 1]) throw new CheckError(`CMD ${JSON.stringify(stage.cmd)} names no --config FILE`);
  const configInImage = stage.cmd[ci + 1];
  const configFile = join(stage.root, configInImage);
  if (!existsSync(configFile)) throw new CheckError(`CMD's configuration ${configInImage} is not in the image`);
  const check = await runArgv([...entry, 'config', 'check', '--config', configFile], { cwd, env });
  if (check.code !== 0 || !/valid/.test(check.out)) throw new CheckError(`config check of ${configInImage} failed (exit ${check.code}):\n${check.out}`);
  checks.configCheck = check.out.trim();
  log(`config check ${configInImage}: ${check.out.trim().split('\n')[0]}`);

  // serve with the same configuration, its paths and ports moved here.
  const config = parseYaml(readFileSync(configFile, 'utf8')) ?? {};
  const adminPort = await freePort();
  const dataDir = join(workDir, 'data');
  config.dataDir = dataDir;
  config.listeners = (config.listeners ?? [{ port: 2525 }]).map((l) => ({ ...l, host: '127.0.0.1', port: 0 }));
  config.admin = { ...(config.admin ?? {}), listen: `127.0.0.1:${adminPort}` };
  const serveConfig = join(workDir, 'serve.yaml');
  writeFileSync(serveConfig, stringifyYaml(config));
  const argv = [...entry, ...stage.cmd.map((a, i) => (i === ci + 1 ? serveConfig : a))];
  log(`start ${stage.cmd.join(' ')} (${config.listeners.length} listener(s), admin on 127.0.0.1:${adminPort})`);
  const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  let exitStatus;
  void exited.then((s) => (exitStatus = s));
  const healthUrl = `http://127.0.0.1:${adminPort}/healthz`;
  const hc = stage.healthcheck?.cmd.map((a) => mapArg(stage, a));
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exitStatus) throw new CheckError(`serve exited (${exitStatus.code ?? exitStatus.signal}) before answering /healthz:\n${out}`);
      const r = await httpGet(healthUrl).catch(() => undefined);
      if (r?.status === 200) break;
      if (Date.now() > deadline) throw new CheckError(`no 200 from ${healthUrl} within 30 s:\n${out}`);
      await new Promise((r2) => setTimeout(r2, 250));
    }
    checks.healthz = 200;
    const listening = out.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return {}; } }).filter((l) => l.event === 'listening');
    if (listening.length !== config.listeners.length) throw new CheckError(`${listening.length} of ${config.listeners.length} listeners logged "listening":\n${out}`);
    checks.smtp = [];
    for (const l of listening) {
      const greeting = await smtpGreeting(Number(l.port), l.tls === 'implicit');
      if (!greeting.startsWith('220 ')) throw new CheckError(`listener ${l.listener}: greeting "${greeting}"`);
      checks.smtp.push({ listener: l.listener, tls: l.tls, greeting: greeting.slice(0, 3) });
    }
    const ready = await httpGet(`http://127.0.0.1:${adminPort}/readyz`);
    if (ready.status !== 200) throw new CheckError(`/readyz answered ${ready.status}: ${ready.body}`);
    checks.readyz = ready.status;
    const page = await httpGet(`http://127.0.0.1:${adminPort}/`);
    if (page.status !== 200 || !page.type.includes('text/html')) throw new CheckError(`the console page / answered ${page.status} ${page.type} (its files missing from the image?)`);
    checks.console = page.status;
    if (hc) {
      const h = await runArgv(hc, { cwd, env: { ...env, AUTHRELAY_HEALTHCHECK_URL: healthUrl }, timeoutMs: 15_000 });
      if (h.code !== 0) throw new CheckError(`HEALTHCHECK failed while the relay runs (exit ${h.code}): ${h.out}`);
      checks.healthcheckRunning = h.code;
    }
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const signal = stage.stopSignal ?? 'SIGTERM';
  log(`stop with ${signal}`);
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const st = await exited;
  clearTimeout(timer);
  if (st.code !== 0) throw new CheckError(`serve did not exit 0 on ${signal}: ${st.code ?? st.signal}\n${out}`);
  checks.stop = { signal, code: st.code };
  if (hc) {
    const h = await runArgv(hc, { cwd, env: { ...env, AUTHRELAY_HEALTHCHECK_URL: healthUrl }, timeoutMs: 15_000 });
    if (h.code === 0) throw new CheckError('HEALTHCHECK passed with the relay stopped: it checks nothing');
    checks.healthcheckStopped = h.code;
  }
  return checks;
}

// ------------------------------------------------------------------ command line

async function main(argv) {
  const opt = { json: false, keep: false, dockerfile: join(HERE, 'Dockerfile'), context: resolve(HERE, '..', '..') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') opt.json = true;
    else if (a === '--keep') opt.keep = true;
    else if (a === '--dockerfile') opt.dockerfile = resolve(argv[++i] ?? '');
    else if (a === '--context') opt.context = resolve(argv[++i] ?? '');
    else throw new CheckError(`unknown option ${a}; usage: build-check.mjs [--json] [--keep] [--dockerfile FILE] [--context DIR]`);
  }
  const workDir = mkdtempSync(join(tmpdir(), 'authrelay-build-check-'));
  const started = Date.now();
  let summary;
  try {
    log(`${opt.dockerfile} in ${workDir}`);
    const { stages, record } = await buildStages({ dockerfile: opt.dockerfile, contextDir: opt.context, workDir });
    const last = stages.at(-1);
    const checks = await checkImage(last, workDir);
    summary = {
      ok: true,
      ...record,
      image: { stage: last.name, base: last.base, user: last.user, workdir: last.workdir, env: last.env, expose: last.expose, volumes: last.volumes,
        stopSignal: last.stopSignal ?? null, healthcheck: last.healthcheck ?? null, entrypoint: last.entrypoint, cmd: last.cmd },
      checks,
      seconds: Math.round((Date.now() - started) / 1000),
    };
    log(`passed in ${summary.seconds} s`);
  } finally {
    if (opt.keep) log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
  if (opt.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`build-check: FAILED: ${e instanceof CheckError ? e.message : e?.stack ?? e}\n`);
    process.exitCode = 1;
  });
}
