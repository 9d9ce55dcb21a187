/**
 * deploy/docker: the Dockerfile's build steps, run without Docker by
 * deploy/docker/build-check.mjs (which reads them from the Dockerfile itself),
 * produce an image tree that starts, passes its own HEALTHCHECK and stops on
 * its STOPSIGNAL; the steps it runs are the Dockerfile's (checked here against
 * an independent reading of the file); the build context holds only what the
 * .dockerignore lets in; compose.yaml and its configuration fit together
 * (ports, volumes, the database URL, the stop grace period).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { loadConfigFile } from '../../src/config/load.js';
import { cli, tempDir } from '../helpers/relay-process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOCKER = join(ROOT, 'deploy', 'docker');
const DOCKERFILE = join(DOCKER, 'Dockerfile');
const SCRIPT = join(DOCKER, 'build-check.mjs');

interface Step {
  keyword: string;
  args: string;
  skip: boolean;
}

/** The Dockerfile's instructions, read here independently of build-check.mjs: continuation lines joined, comments dropped. */
function dockerfileSteps(text: string): Step[] {
  const steps: Step[] = [];
  let skip = false;
  let current = '';
  for (const line of text.split('\n')) {
    if (!current && /^\s*#/.test(line)) {
      if (/^\s*#\s*build-check:\s*skip\b/.test(line)) skip = true;
      continue;
    }
    if (current && /^\s*#/.test(line)) continue;
    if (!current && !line.trim()) continue;
    current += (current ? ' ' : '') + line.trim();
    if (current.endsWith('\\')) {
      current = current.slice(0, -1).trim();
      continue;
    }
    const m = /^(\S+)\s+(.*)$/.exec(current)!;
    steps.push({ keyword: m[1]!.toUpperCase(), args: m[2]!, skip });
    skip = false;
    current = '';
  }
  return steps;
}

interface Summary {
  ok: boolean;
  context: string[];
  stages: { name: string; base: string }[];
  run: { stage: string; command: string }[];
  skipped: { stage: string; command: string; reason: string }[];
  copied: { stage: string; from: string; sources: string[]; dest: string }[];
  image: {
    user: string; workdir: string; expose: string[]; volumes: string[]; stopSignal: string | null; entrypoint: string[]; cmd: string[];
    healthcheck: { cmd: string[]; flags: Record<string, string> } | null; env: Record<string, string>;
  };
  checks: {
    configCheck: string; healthz: number; readyz: number; console: number; healthcheckRunning: number; healthcheckStopped: number;
    stop: { signal: string; code: number }; smtp: { listener: string; tls: string; greeting: string }[]; dependencies: { production: number };
  };
}

function runScript(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

const dockerfileText = readFileSync(DOCKERFILE, 'utf8');
const steps = dockerfileSteps(dockerfileText);

test('build-check runs the Dockerfile\'s own steps; the result starts, passes its HEALTHCHECK and stops on STOPSIGNAL', { timeout: 900_000 }, async () => {
  const r = await runScript(['--json'], 840_000);
  assert.equal(r.code, 0, `build-check failed:\n${r.stderr.slice(-6000)}`);
  const s = JSON.parse(r.stdout) as Summary;
  assert.equal(s.ok, true);

  // Every RUN of the Dockerfile was run, in order, except those marked as skipped, which touch no npm step.
  const runs = steps.filter((x) => x.keyword === 'RUN');
  assert.deepEqual(s.run.map((x) => x.command), runs.filter((x) => !x.skip).map((x) => x.args));
  assert.deepEqual(s.skipped.map((x) => x.command), runs.filter((x) => x.skip).map((x) => x.args));
  for (const x of s.skipped) assert.doesNotMatch(x.command, /\bnpm\b/, `an npm step is skipped by build-check: ${x.command}`);
  const build = s.run.filter((x) => x.stage === 'build').map((x) => x.command);
  const order = [/^npm ci\b/, /^npm run build$/, /^npm prune --omit=dev\b/].map((re) => build.findIndex((c) => re.test(c)));
  assert.ok(order.every((i) => i >= 0) && order[0]! < order[1]! && order[1]! < order[2]!, `build stage steps: ${build.join(' | ')}`);

  // Every COPY was done, with the Dockerfile's sources.
  const copies = steps.filter((x) => x.keyword === 'COPY').map((x) => x.args.replace(/^(--\S+\s+)+/, '').split(' ').slice(0, -1));
  assert.deepEqual(s.copied.map((x) => x.sources), copies);

  // Base images: Node.js 20 or later, as package.json asks, in both stages.
  const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  const minimum = Number(/(\d+)/.exec(engines)![1]);
  assert.equal(s.stages.length, 2);
  for (const st of s.stages) {
    const major = /^node:(\d+)/.exec(st.base);
    assert.ok(major && Number(major[1]) >= minimum, `stage ${st.name}: ${st.base} (package.json engines: node ${engines})`);
  }

  // The build context: only what the image needs; never the queue, dependencies, build output or tests.
  assert.ok(s.context.includes('package.json') && s.context.includes('package-lock.json') && s.context.includes('src/main.ts'), 'context lacks the sources');
  const leaked = s.context.filter((p) => /^(node_modules|dist|data|test|bench|\.git|docs)\//.test(p) || /(^|\/)\.env$|\.pem$|\.key$/.test(p));
  assert.deepEqual(leaked, []);

  // The image: not root, the data volume where the configuration keeps its data, ports of its listeners.
  const img = s.image;
  assert.equal(img.user, 'authrelay');
  assert.deepEqual(img.volumes, ['/var/lib/authrelay']);
  assert.equal(img.stopSignal, 'SIGTERM');
  const builtIn = loadConfigFile(join(DOCKER, 'default.yaml'), { env: {} }).config;
  assert.equal(builtIn.dataDir, '/var/lib/authrelay');
  assert.deepEqual([...img.expose].sort(), [...builtIn.listeners.map((l) => String(l.port)), builtIn.admin.listen.split(':').at(-1)!].sort());
  assert.deepEqual(img.cmd, ['serve', '--config', '/etc/authrelay/authrelay.yaml']);
  assert.equal(img.env.AUTHRELAY_CONFIG, '/etc/authrelay/authrelay.yaml');
  assert.ok(img.healthcheck && img.healthcheck.cmd.join(' ').includes(`http://${builtIn.admin.listen}/healthz`), JSON.stringify(img.healthcheck));

  // What build-check saw the image do.
  const c = s.checks;
  assert.match(c.configCheck, /valid\. 3 listener\(s\)/);
  assert.deepEqual(c.smtp.map((x) => [x.listener, x.greeting]), builtIn.listeners.map((l) => [l.name, '220']));
  assert.equal(c.healthz, 200);
  assert.equal(c.readyz, 200);
  assert.equal(c.console, 200);
  assert.equal(c.healthcheckRunning, 0);
  assert.notEqual(c.healthcheckStopped, 0);
  assert.deepEqual(c.stop, { signal: 'SIGTERM', code: 0 });
});

/** Writes a small build context with a Dockerfile and its .dockerignore. */
function miniContext(dockerfile: string, ignore: string): string {
  const dir = tempDir('authrelay-docker-ctx-');
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  writeFileSync(join(dir, 'Dockerfile.dockerignore'), ignore);
  writeFileSync(join(dir, 'package.json'), '{}\n');
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'queue.db'), 'x');
  return dir;
}

test('build-check fails on a COPY the .dockerignore leaves out, a failing RUN, and a RUN that names an absolute path', { timeout: 120_000 }, async () => {
  const cases: [string, RegExp][] = [
    ['FROM node:20-bookworm-slim AS build\nWORKDIR /src\nCOPY data ./data\n', /COPY data: not found in the build context \(left out by Dockerfile\.dockerignore\?\)/],
    ['FROM node:20-bookworm-slim AS build\nWORKDIR /src\nCOPY package.json ./\nRUN test -f package.json && false\n', /RUN test -f package\.json && false: exit code 1/],
    ['FROM node:20-bookworm-slim\nRUN rm -rf /var/lib/apt/lists\n', /names the absolute path \/var\/lib\/apt\/lists/],
    ['FROM node:20-bookworm-slim\nSHELL ["/bin/bash", "-c"]\n', /SHELL is not supported by this check/],
  ];
  for (const [dockerfile, expected] of cases) {
    const dir = miniContext(dockerfile, '*\n!package.json\n');
    try {
      const r = await runScript(['--dockerfile', join(dir, 'Dockerfile'), '--context', dir], 60_000);
      assert.equal(r.code, 1, `${dockerfile}\n${r.stderr}`);
      assert.match(r.stderr, expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

interface IgnoreModule {
  parseDockerignore(text: string): unknown;
  isIgnored(rules: unknown, path: string): boolean;
}

test('.dockerignore rules as Docker reads them: last match wins, exceptions, directories and **', async () => {
  const m = (await import(pathToFileURL(SCRIPT).href)) as IgnoreModule;
  const rules = m.parseDockerignore('# comment\n*\n!package.json\n!src/\nsrc/**/*.test.ts\n!deploy/docker/default.yaml\n/**/.env\n');
  const cases: [string, boolean][] = [
    ['package.json', false], ['README.md', true], ['node_modules/x/index.js', true], ['src/main.ts', false], ['src/a/b.test.ts', true],
    ['deploy/docker/default.yaml', false], ['deploy/docker/Dockerfile', true], ['src/.env', true], ['data/queue/queue.db', true],
  ];
  for (const [path, ignored] of cases) assert.equal(m.isIgnored(rules, path), ignored, path);
  // The project's own file.
  const own = m.parseDockerignore(readFileSync(join(DOCKER, 'Dockerfile.dockerignore'), 'utf8'));
  assert.equal(m.isIgnored(own, 'data/queue/queue.db'), true);
  assert.equal(m.isIgnored(own, '.git/config'), true);
  assert.equal(m.isIgnored(own, 'src/cli/main.ts'), false);
});

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  stop_signal?: string;
  restart?: string;
  init?: boolean;
}

test('compose.yaml: PostgreSQL 15 with a volume and health check, authrelay built from the Dockerfile with its configuration read-only, ports and database URL that match it', async () => {
  const compose = parseYaml(readFileSync(join(DOCKER, 'compose.yaml'), 'utf8')) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
  const pg = compose.services.postgres!;
  const relay = compose.services.authrelay!;
  assert.ok(pg && relay, 'services postgres and authrelay');

  assert.match(pg.image ?? '', /^postgres:15(\b|$)/);
  assert.ok(pg.healthcheck?.test.join(' ').includes('pg_isready'), 'postgres health check with pg_isready');
  const pgData = pg.volumes?.find((v) => v.endsWith(':/var/lib/postgresql/data'));
  assert.ok(pgData && pgData.split(':')[0]! in compose.volumes, 'a named volume for /var/lib/postgresql/data');
  assert.equal(pg.ports, undefined, 'PostgreSQL is not published');

  // Built from this Dockerfile, with the whole source tree as context.
  assert.equal(join(DOCKER, relay.build!.context, relay.build!.dockerfile), DOCKERFILE);
  assert.equal(join(DOCKER, relay.build!.context), ROOT.replace(/\/$/, ''));
  assert.equal(relay.depends_on?.postgres?.condition, 'service_healthy');
  assert.equal(relay.restart, 'unless-stopped');

  // The configuration: mounted read-only where the image's CMD reads it; the data volume where the image keeps data.
  const configMount = relay.volumes?.find((v) => v.split(':')[1] === '/etc/authrelay/authrelay.yaml');
  assert.equal(configMount, './authrelay.yaml:/etc/authrelay/authrelay.yaml:ro');
  assert.match(dockerfileText, /^CMD \["serve", "--config", "\/etc\/authrelay\/authrelay\.yaml"\]$/m);
  const dataMount = relay.volumes?.find((v) => v.split(':')[1] === '/var/lib/authrelay');
  assert.ok(dataMount && dataMount.split(':')[0]! in compose.volumes, 'a named volume for /var/lib/authrelay');
  assert.match(dockerfileText, /^VOLUME \["\/var\/lib\/authrelay"\]$/m);

  // The configuration file is valid with the environment compose gives it, and uses the postgres service.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(relay.environment ?? {})) {
    env[k] = v.replace(/\$\{([A-Z_]+)(?::\?[^}]*)?\}/g, (_all, name: string) => (name === 'POSTGRES_PASSWORD' ? 'c0ffee' : `<${name}>`));
  }
  const configText = readFileSync(join(DOCKER, 'authrelay.yaml'), 'utf8');
  for (const m of configText.matchAll(/^[^#\n]*\$\{([A-Z0-9_]+)\}/gm)) assert.ok(m[1]! in env, `authrelay.yaml uses \${${m[1]}}, which compose.yaml does not set`);
  const dbUrl = new URL(env.AUTHRELAY_DATABASE_URL!);
  assert.equal(dbUrl.protocol, 'postgres:');
  assert.equal(dbUrl.hostname, 'postgres');
  assert.equal(dbUrl.username, pg.environment?.POSTGRES_USER);
  assert.equal(dbUrl.pathname, `/${pg.environment?.POSTGRES_DB}`);
  assert.equal(dbUrl.password, 'c0ffee');
  assert.match(pg.environment?.POSTGRES_PASSWORD ?? '', /^\$\{POSTGRES_PASSWORD:\?/);
  const checked = await cli(['config', 'check', '--config', join(DOCKER, 'authrelay.yaml')], { env: { ...process.env, ...env } });
  assert.equal(checked.code, 0, `config check of deploy/docker/authrelay.yaml:\n${checked.stderr}${checked.stdout}`);
  const config = loadConfigFile(join(DOCKER, 'authrelay.yaml'), { env }).config;
  const store = config.store as { type: string; url?: string };
  assert.equal(store.type, 'postgres');
  assert.equal(store.url, env.AUTHRELAY_DATABASE_URL);
  assert.equal(config.dataDir, '/var/lib/authrelay');

  // Published ports: each listener's container port, the admin port on the host's loopback only.
  const published = (relay.ports ?? []).map((p) => {
    const parts = p.split(':');
    return { host: parts.length === 3 ? parts[0] : '0.0.0.0', hostPort: Number(parts.at(-2)), containerPort: Number(parts.at(-1)) };
  });
  assert.deepEqual(published.filter((p) => p.host === '0.0.0.0').map((p) => p.containerPort).sort(), config.listeners.map((l) => l.port).sort());
  assert.deepEqual(published.filter((p) => p.host === '0.0.0.0').map((p) => p.hostPort).sort(), [25, 465, 587]);
  const adminPort = Number(config.admin.listen.split(':').at(-1));
  assert.deepEqual(published.filter((p) => p.containerPort === adminPort), [{ host: '127.0.0.1', hostPort: adminPort, containerPort: adminPort }]);
  // In the container the admin server listens on every address, or the published port would reach nothing.
  assert.match(config.admin.listen, /^0\.0\.0\.0:/);

  // Stopping: SIGTERM, and more time than the relay's graceful shutdown.
  assert.equal(relay.stop_signal, 'SIGTERM');
  const grace = Number(/^(\d+)s$/.exec(relay.stop_grace_period ?? '')?.[1]);
  assert.ok(grace >= config.shutdownTimeout / 1000 + 10, `stop_grace_period ${relay.stop_grace_period} vs shutdownTimeout ${config.shutdownTimeout} ms`);
  assert.equal(relay.init, true);
});
