/**
 * The English and Japanese pages a newcomer reads are kept in step: each pair
 * links to the other, has the same sections (the same number of headings at
 * each level, in the same order), the same pictures, the same commands in its
 * shell blocks, and every relative link in it points at a file that exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PAIRS: [string, string][] = [
  ['README.md', 'README.ja.md'],
  ['docs/getting-started.md', 'docs/ja/getting-started.md'],
  ['docs/devices.md', 'docs/ja/devices.md'],
  ['docs/imap-pop.md', 'docs/ja/imap-pop.md'],
];

const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');
const headings = (md: string) => [...md.matchAll(/^(#{1,6}) /gm)].map((m) => m[1]!.length);
/** The pictures, by file (a page's own language version, -en.png or -ja.png, counts as the same picture). */
const images = (md: string) => [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)]
  .map((m) => m[1]!.replace(/^(\.\.\/)+|^docs\//g, '').replace(/-(en|ja)\.png$/, '.png'));
const shellLines = (md: string) => [...md.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n'))
  .map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l && !l.startsWith('#'));
const links = (md: string) => [...md.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/i.test(l));

for (const [en, ja] of PAIRS) {
  test(`${en} and ${ja} are in step`, () => {
    const a = read(en);
    const b = read(ja);
    assert.ok(a.includes(`](${relative(dirname(en), ja)})`), `${en} links to ${ja}`);
    assert.ok(b.includes(`](${relative(dirname(ja), en)})`), `${ja} links to ${en}`);
    assert.deepEqual(headings(b), headings(a), 'the same sections');
    assert.deepEqual(images(b), images(a), 'the same pictures');
    assert.deepEqual(shellLines(b), shellLines(a), 'the same commands');
    for (const [file, md] of [[en, a], [ja, b]] as const) {
      for (const l of links(md)) assert.ok(existsSync(join(ROOT, dirname(file), l)), `${file} links to ${l}, which does not exist`);
    }
  });
}
