/**
 * The console's dictionaries: English and Japanese have the same keys, no
 * empty strings, the same {placeholders}, and every key the pages ask for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { consoleAssetsDir, loadAssets } from '../../src/admin/console/plugin.js';
import { PROBE_NOTES, PROBE_PROBLEMS } from '../../src/config/wizard/smtp-probe-proposal.js';

const dir = consoleAssetsDir();
const dict = (lang: string) => JSON.parse(readFileSync(join(dir, 'i18n', `${lang}.json`), 'utf8')) as Record<string, string>;
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('en.json and ja.json have the same keys and placeholders, none empty', () => {
  const en = dict('en');
  const ja = dict('ja');
  assert.deepEqual(Object.keys(ja).sort(), Object.keys(en).sort());
  for (const [k, v] of Object.entries(en)) {
    assert.ok(v.trim(), `en ${k} is empty`);
    assert.ok(ja[k]!.trim(), `ja ${k} is empty`);
    assert.deepEqual(placeholders(ja[k]!), placeholders(v), `placeholders of ${k}`);
  }
  assert.ok(Object.keys(en).length > 100);
});

test('every fixed key the pages use is in the dictionaries', () => {
  const en = dict('en');
  const assets = loadAssets(dir);
  const used = new Set<string>();
  for (const [path, a] of assets) {
    const text = a.body.toString('utf8');
    if (path.endsWith('.js')) for (const m of text.matchAll(/\bt\('([a-zA-Z]+\.[a-zA-Z.]+)'/g)) used.add(m[1]!);
    if (path.endsWith('.html')) for (const m of text.matchAll(/data-i18n="([^"]+)"/g)) used.add(m[1]!);
  }
  assert.ok(used.size > 80, `found ${used.size} keys`);
  for (const k of used) assert.ok(k in en, `missing key ${k}`);
  for (const st of ['incoming', 'active', 'deferred', 'held', 'delivered', 'failed']) assert.ok(`state.${st}` in en);
  for (const st of ['pending', 'delivered', 'failed', 'held']) assert.ok(`rstate.${st}` in en);
  for (const tls of ['none', 'starttls', 'implicit']) assert.ok(`tls.${tls}` in en);
  // The setup wizard's probe of an SMTP relay: every note, problem and fix it can name.
  for (const n of PROBE_NOTES) assert.ok(`wizard.probe.note.${n}` in en, `wizard.probe.note.${n}`);
  for (const p of PROBE_PROBLEMS) for (const k of ['problem', 'fix']) assert.ok(`wizard.probe.${k}.${p}` in en, `wizard.probe.${k}.${p}`);
  for (const m of ['plain', 'implicit']) assert.ok(`wizard.probe.mode.${m}` in en);
  for (const tls of ['auto', 'none', 'starttls', 'implicit']) assert.ok(`wizard.relayTls.${tls}` in en);
});
