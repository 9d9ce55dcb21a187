#!/usr/bin/env node
// Rewrites the tables of docs/errors.md from the error catalogue (run after `npm run build`).
import { readFileSync, writeFileSync } from 'node:fs';
import { renderErrorsDoc } from '../dist/src/deliver/microsoft/catalogue-doc.js';

const file = new URL('../docs/errors.md', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = renderErrorsDoc(before);
writeFileSync(file, after);
console.log(before === after ? 'docs/errors.md is up to date' : 'docs/errors.md rewritten from the catalogue');
