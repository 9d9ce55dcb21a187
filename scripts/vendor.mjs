#!/usr/bin/env node
// Bundles the libraries the relay needs before its listeners open, each into one
// module, over the compiled re-exports in dist/src/vendor/ (src/vendor/*.ts): Node.js
// then reads and compiles one file per library instead of dozens (zod ~100 files,
// yaml ~70), which shortens the start (docs/architecture.md, Start order).
// The re-exports tsc wrote work as they are; without esbuild this step does nothing.
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const OUT = join('dist', 'src', 'vendor');
if (!existsSync(OUT)) process.exit(0);

let esbuild;
try {
  esbuild = createRequire(import.meta.url)('esbuild');
} catch {
  process.exit(0); // installed without the development packages: the plain re-exports stay
}

const require = createRequire(join(process.cwd(), 'package.json'));
const bundles = [
  // zod is an ES module: everything it exports, as it exports it, but of its message
  // languages only English, which zod sets at load (the relay words its configuration
  // problems itself, in English and Japanese: config/problem-texts.ts): 40 languages
  // are about half of the bundle.
  { name: 'zod', contents: "export * from 'zod';", plugins: [zodEnglishOnly()] },
  // yaml is CommonJS: its exports are named one by one (an ES bundle of CommonJS has no named exports otherwise),
  // and the Node.js modules it requires are reached through a require made for the bundle.
  {
    name: 'yaml',
    contents: `export { ${Object.keys(require('yaml')).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k)).join(', ')} } from 'yaml';`,
    banner: "import { createRequire as __vendorRequire } from 'node:module'; const require = __vendorRequire(import.meta.url);",
  },
];

for (const b of bundles) {
  const outfile = join(OUT, `${b.name}.js`);
  await esbuild.build({
    stdin: { contents: b.contents, resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile,
    logLevel: 'warning',
    legalComments: 'inline',
    ...(b.banner ? { banner: { js: b.banner } } : {}),
    ...(b.plugins ? { plugins: b.plugins } : {}),
  });
  // tsc's source map described the re-export, not the bundle.
  rmSync(`${outfile}.map`, { force: true });
}

/** zod's `locales` export (every language) replaced by its English one. */
function zodEnglishOnly() {
  return {
    name: 'zod-english-only',
    setup(build) {
      build.onResolve({ filter: /\/locales\/index\.js$/ }, (a) => ({ path: join(a.resolveDir, a.path), namespace: 'zod-locales' }));
      build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (a) => ({
        contents: `export { default as en } from ${JSON.stringify(join(dirname(a.path), 'en.js'))};`,
        resolveDir: dirname(a.path),
        loader: 'js',
      }));
    },
  };
}
