#!/usr/bin/env node
// Bundles test files for a whole run of the suite (scripts/test.mjs): each test file an entry,
// the sources and packages they share split into common chunks, what must stay in node_modules
// left there as in the CLI's bundle (bundle-options.mjs). Run through
// tsx, every test process resolved and transformed each of its ~400 source modules through
// module hooks on another thread: about 3 s of CPU before its first test, for each of the 130
// files. From the bundle a process starts its tests in about a third of that.
//
// The code is the same: tsx transforms each file with esbuild, as this does. What a bundle
// changes is where a module lives, so `import.meta.url`, `import.meta.dirname` and
// `import.meta.filename` are replaced in each file by its own source location: fixtures,
// docs and the CLI are found where they were.
//
// usage: node scripts/build-tests.mjs --outdir DIR FILE... (prints {built entry: test file} as JSON)
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { defaultOnlyChunks, EXTERNAL, lazyCommonJsStaysExternal, REQUIRE_BANNER } from './bundle-options.mjs';

const { values, positionals } = parseArgs({ options: { outdir: { type: 'string' } }, allowPositionals: true });
if (!values.outdir || positionals.length === 0) {
  console.error('usage: node scripts/build-tests.mjs --outdir DIR FILE...');
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));

/** Each source file keeps its own location: import.meta.* become literals of where it is in the tree. */
const ownLocation = {
  name: 'own-location',
  setup(b) {
    b.onLoad({ filter: /\.m?ts$/ }, async (args) => {
      if (args.path.startsWith(`${root}node_modules/`)) return undefined;
      const text = await readFile(args.path, 'utf8');
      const contents = text
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
        .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
        .replaceAll('import.meta.filename', JSON.stringify(args.path));
      return { contents, loader: 'ts' };
    });
  },
};

const outdir = resolve(values.outdir);
const entryPoints = positionals.map((f) => resolve(f));
const result = await build({
  entryPoints,
  outdir,
  outbase: root,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // playwright-core reads its own files and starts its own processes, as the CLI's externals do.
  external: [...EXTERNAL, 'playwright-core'],
  banner: REQUIRE_BANNER,
  // Stack traces and the runner's report name the source files (node --enable-source-maps).
  sourcemap: 'linked',
  logLevel: 'warning',
  metafile: true,
  plugins: [ownLocation, lazyCommonJsStaysExternal],
});
const defaultOnly = defaultOnlyChunks(result.metafile);
if (defaultOnly.length > 0) {
  console.error(`build-tests: ${defaultOnly.join(', ')} export only \`default\`; add the package to LAZY_COMMONJS in bundle-options.mjs`);
  process.exit(1);
}

// built entry → the test file it came from, for the runner's report
const entries = {};
for (const [out, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint && entryPoints.includes(resolve(meta.entryPoint))) entries[resolve(out)] = resolve(meta.entryPoint);
}
console.log(JSON.stringify(entries));
