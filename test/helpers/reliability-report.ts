/**
 * Figures from the reliability suite (messages, duplicates, lost, attempts,
 * latency...) for `npm run test:reliability`, which renders them as a dated
 * table in bench/results/. A test calls report() once per scenario: with
 * RELIABILITY_REPORT set (the runner sets it) the figures are appended to
 * that file as one JSON line; the same line always goes to the test output.
 */
import { appendFileSync } from 'node:fs';

export type Figures = Record<string, string | number | boolean>;

export function report(suite: string, scenario: string, figures: Figures): void {
  const line = JSON.stringify({ suite, scenario, figures, at: new Date().toISOString(), full: process.env.RELIABILITY_FULL === '1' });
  console.log(`reliability: ${line}`);
  const file = process.env.RELIABILITY_REPORT;
  if (file) appendFileSync(file, `${line}\n`);
}
