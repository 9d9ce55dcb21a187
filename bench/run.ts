/**
 * Side-by-side benchmark: authrelay against a private Postfix, both relaying
 * to smtp-sink on loopback, each freshly started per repetition.
 * Method: shared/reference/performance.md. Targets: shared/PRODUCT.md.
 *
 *   npm run bench            (BENCH_* variables: npm run bench -- --help)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { checkRelayBuilt, sweepStaleRelays } from './authrelay.js';
import { SMTP_SOURCE, smtpSourceArgs } from './lib/load.js';
import { installExitHandlers, runCleanups } from './lib/proc.js';
import { SMTP_SINK, sweepStaleSinks } from './lib/sink.js';
import { POSTFIX, checkPostfixPrerequisites, sweepStalePostfix } from './postfix.js';
import { median, printChecks, printPhases, summarise, writeJson, type Check } from './report.js';
import { MEMORY_KIND, runScenario, type Limits, type PhaseSpec, type ScenarioResult, type SystemName } from './scenarios.js';
import { SETTINGS_HELP, readSettings } from './settings.js';
import { printM365, runM365, type M365Result } from './m365.js';

const MB = 1024 * 1024;

interface Failure {
  system: SystemName;
  scenario: string;
  error: string;
}

function preflight(wanted: SystemName[]): { systems: SystemName[]; skipped: string[] } {
  for (const tool of [SMTP_SOURCE, SMTP_SINK]) {
    if (!existsSync(tool)) throw new Error(`${tool} is missing (apt-get install postfix)`);
  }
  for (const dir of [...sweepStalePostfix(), ...sweepStaleRelays(), ...sweepStaleSinks()]) console.error(`removed ${dir}, left by a benchmark that was killed`);
  const skipped: string[] = [];
  const systems = wanted.filter((s) => {
    const problem = s === 'postfix' ? checkPostfixPrerequisites() : checkRelayBuilt();
    if (problem) skipped.push(`${s}: ${problem}`);
    return !problem;
  });
  return { systems, skipped };
}

function postfixVersion(): string {
  const r = spawnSync('/usr/sbin/postconf', ['-d', '-h', 'mail_version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

async function attempt(system: SystemName, scenario: string, failures: Failure[], fn: () => Promise<ScenarioResult>): Promise<ScenarioResult | undefined> {
  const t0 = Date.now();
  process.stderr.write(`  ${scenario}: ${system} ... `);
  try {
    const r = await fn();
    process.stderr.write(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    return r;
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    process.stderr.write(`FAILED\n${error}\n`);
    failures.push({ system, scenario, error });
    return undefined;
  }
}

/** Each distinct warning line once, with the number of scenarios that logged it. */
function printWarnings(all: ScenarioResult[]): void {
  const seen = new Map<string, number>();
  for (const r of all) {
    const lines = new Set(r.warnings.map((w) => `${r.system}: ${(w.split('\n')[0] ?? '').replace(/\(node:\d+\) /, '').slice(0, 200)}`));
    for (const l of lines) seen.set(l, (seen.get(l) ?? 0) + 1);
  }
  for (const [line, n] of seen) console.log(`warning in ${n} of ${all.length} scenarios, ${line}`);
}

async function main(): Promise<number> {
  if (process.argv.includes('--help')) {
    console.log(SETTINGS_HELP);
    return 0;
  }
  const s = readSettings();
  installExitHandlers(s.timeoutMin * 60_000);
  const { systems, skipped } = preflight(s.systems);
  for (const why of skipped) console.error(`skipping ${why}`);
  if (systems.length === 0) return 1;

  const limits: Limits = { phaseTimeoutMs: s.phaseTimeoutS * 1000, drainTimeoutMs: s.drainTimeoutS * 1000, concurrency: s.concurrency, relayNodeArgs: s.relayNodeArgs };
  const many = `${s.sessions} sessions`;
  const phases: PhaseSpec[] = [{ name: many, sessions: s.sessions, messages: s.messages, size: s.size }];
  if (s.messagesSingle > 0) phases.push({ name: '1 session', sessions: 1, messages: s.messagesSingle, size: s.size });
  const warmup: PhaseSpec = { name: 'warm-up', sessions: s.sessions, messages: s.warmup, size: s.size };
  const big: PhaseSpec = { name: `${s.bigMessages} × ${s.bigSizeMB} MB`, sessions: s.bigMessages, messages: s.bigMessages, size: s.bigSizeMB * MB };
  const bigLimits: Limits = { ...limits, drainTimeoutMs: Math.max(limits.drainTimeoutMs, 300_000) };

  const failures: Failure[] = [];
  const runs: (ScenarioResult & { rep: number })[] = [];
  const bigRuns: ScenarioResult[] = [];
  console.error(`authrelay benchmark: ${systems.join(' and ')}, ${s.reps} repetition(s), fresh start each`);
  for (let rep = 1; rep <= s.reps; rep++) {
    const order = rep % 2 === 1 ? systems : [...systems].reverse();
    for (const system of order) {
      const r = await attempt(system, `repetition ${rep}/${s.reps}`, failures, () => runScenario(system, warmup, phases, limits));
      if (r) runs.push({ ...r, rep });
    }
  }
  for (let rep = 1; rep <= s.bigReps && s.bigMessages > 0; rep++) {
    for (const system of systems) {
      const r = await attempt(system, `memory, ${big.name}`, failures, () => runScenario(system, undefined, [big], bigLimits));
      if (r) bigRuns.push(r);
    }
  }

  let m365: M365Result | undefined;
  if (s.m365Messages > 0 && systems.includes('authrelay')) {
    process.stderr.write('  Microsoft 365 route (Graph emulator) ... ');
    const t0 = Date.now();
    try {
      m365 = await runM365({ messages: s.m365Messages, sessions: s.sessions, bigMessages: s.bigMessages, bigSizeMB: s.bigSizeMB });
      process.stderr.write(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      if (m365.endToEnd.lost > 0) failures.push({ system: 'authrelay', scenario: 'Microsoft 365 route', error: `${m365.endToEnd.lost} acknowledged messages not accepted by Graph` });
    } catch (err) {
      process.stderr.write('FAILED\n');
      failures.push({ system: 'authrelay', scenario: 'Microsoft 365 route', error: err instanceof Error ? err.message : String(err) });
    }
  }

  const { phases: summary, ratios } = summarise(runs);
  const describe = (name: string) => {
    const p = phases.find((x) => x.name === name);
    return p ? `${p.sessions} session${p.sessions > 1 ? 's' : ''} × ${p.messages}` : name;
  };
  const checks: Check[] = [];
  for (const system of systems) {
    const starts = [...runs, ...bigRuns].filter((r) => r.system === system).map((r) => r.startupMs);
    const startup = median(starts);
    if (startup !== null) {
      checks.push({
        what: 'start to accepting (median)',
        system,
        value: `${Math.round(startup)} ms`,
        target: system === 'authrelay' ? '≤ 1000 ms' : '—',
        met: system === 'authrelay' ? startup <= 1000 : undefined,
      });
    }
    for (const b of bigRuns.filter((r) => r.system === system)) {
      const p = b.phases[0];
      if (!p) continue;
      const mb = Math.round((p.peakMemoryBytes / MB) * 10) / 10;
      const target = system === 'authrelay' ? '≤ 150 MB' : '—';
      checks.push({ what: `peak memory, ${big.name} at once`, system, value: `${mb} MB`, target, met: system === 'authrelay' ? mb <= 150 : undefined });
      const value = `${p.ingestMsgPerSec.toFixed(1)} msg/s, ${p.cpuMsPerMessage.toFixed(0)} CPU ms/msg, ${p.undelivered} undelivered`;
      checks.push({ what: '  same: ingest, CPU, loss', system, value, target: '0 undelivered', met: p.undelivered === 0 });
    }
  }

  console.log('');
  console.log(`Postfix ${postfixVersion()} vs authrelay, ${cpus().length} CPUs, Node ${process.version}, loopback, upstream smtp-sink, ${s.reps} rep(s), medians`);
  console.log(`load: smtp-source ${smtpSourceArgs(0, phases[0] as PhaseSpec).join(' ').replace(':0', ':PORT')}${s.messagesSingle > 0 ? `  (and -s 1 -m ${s.messagesSingle})` : ''}\n`);
  if (summary.length > 0) printPhases(summary, ratios, describe);
  console.log('');
  if (checks.length > 0) printChecks(checks);
  console.log(`\n* peak memory: Postfix = ${MEMORY_KIND.postfix}; authrelay = ${MEMORY_KIND.authrelay}.`);
  console.log(`  undelivered = acknowledged (in that phase or an earlier one since the fresh start) but not received by smtp-sink`);
  console.log(`  within ${s.drainTimeoutS} s after the phase; end-to-end = messages / (first connection until smtp-sink had them all).`);
  if (m365) printM365(m365);
  printWarnings([...runs, ...bigRuns]);
  for (const f of failures) console.log(`FAILED ${f.system}, ${f.scenario}: ${f.error.split('\n')[0]}`);
  for (const why of skipped) console.log(`skipped ${why}`);

  writeJson(s.out, {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, postfix: postfixVersion(), binaries: { postfix: POSTFIX, smtpSource: SMTP_SOURCE, smtpSink: SMTP_SINK } },
    settings: s,
    memoryKind: MEMORY_KIND,
    summary,
    ratios,
    checks,
    runs,
    bigRuns,
    m365,
    failures,
    skipped,
  });
  console.log(`\nresults: ${s.out}`);
  return failures.length > 0 || skipped.length > 0 ? 1 : 0;
}

main()
  .then((code) => {
    runCleanups();
    process.exitCode = code;
  })
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    runCleanups();
    process.exitCode = 1;
  });
