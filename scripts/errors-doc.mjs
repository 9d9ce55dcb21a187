#!/usr/bin/env node
// Rewrites the tables of docs/errors.md (English) and docs/ja/errors.md (Japanese)
// from the error catalogue (run after `npm run build`).
import { readFileSync, writeFileSync } from 'node:fs';
import { ERRORS_DOCS, renderErrorsDoc } from '../dist/src/deliver/microsoft/catalogue-doc.js';

for (const [lang, path] of Object.entries(ERRORS_DOCS)) {
  const file = new URL(`../${path}`, import.meta.url);
  const before = readFileSync(file, 'utf8');
  const after = renderErrorsDoc(before, lang);
  if (after !== before) writeFileSync(file, after);
  console.log(before === after ? `${path} is up to date` : `${path} rewritten from the catalogue`);
}
