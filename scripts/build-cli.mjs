#!/usr/bin/env node
// Bundles the CLI (and through it the API server, the executor and every command) into
// dist/bundle/: one entry and shared chunks, split at the CLI's lazy imports so a command still
// loads only what it uses. Node resolves and reads a module per file: unbundled, a server start
// opened about a thousand files (kysely alone ships 265) and spent most of its start-up there.
//
// What stays in node_modules, and why, is in bundle-options.mjs (the test files' bundles share it).
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { defaultOnlyChunks, EXTERNAL, lazyCommonJsStaysExternal, REQUIRE_BANNER } from './bundle-options.mjs';

// `--outdir DIR` writes the bundle elsewhere (the README test builds a throwaway clone's).
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
const root = fileURLToPath(new URL('..', import.meta.url));

const outdir = values.outdir ?? `${root}dist/bundle`;
const started = Date.now();
/** What the CLI's bundle and the reader thread's share. */
const common = {
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  banner: REQUIRE_BANNER,
  legalComments: 'eof',
  logLevel: 'warning',
  metafile: true,
};
const result = await build({
  ...common,
  entryPoints: { cli: `${root}src/cli.ts` },
  splitting: true,
  plugins: [lazyCommonJsStaysExternal],
});

// The audit chain's reader threads (src/store/sqlite/audit-readers.ts) load an entry of their own,
// built whole (no chunks shared with the CLI's) and without the audit domain's modules it does not
// use: the audit domain's files have no side effects on import, so esbuild may leave out what the
// reader never calls (the console's views and their zod schemas). A thread then starts in about
// half the time.
const sideEffectFree = {
  name: 'audit-domain-side-effect-free',
  setup(b) {
    b.onResolve({ filter: /\.ts$/ }, (args) => {
      const path = resolve(args.resolveDir, args.path);
      return path.startsWith(`${root}src/audit/`) ? { path, sideEffects: false } : undefined;
    });
  },
};
const reader = await build({
  ...common,
  entryPoints: { 'audit-reader-worker': `${root}src/store/sqlite/audit-reader-worker.ts` },
  plugins: [sideEffectFree],
});

// A CommonJS package import()ed from inside the bundle, caught at build time rather than when a
// command first calls it.
const defaultOnly = defaultOnlyChunks(result.metafile);
if (defaultOnly.length > 0) {
  console.error(
    `build-cli: ${defaultOnly.join(', ')} export only \`default\` (a CommonJS module loaded with import() inside the bundle); add its package to LAZY_COMMONJS`,
  );
  process.exit(1);
}
const bytes = [result, reader].flatMap((r) => Object.values(r.metafile.outputs)).reduce((n, o) => n + o.bytes, 0);
console.error(`bundled the CLI into ${outdir} (${(bytes / 1e6).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
