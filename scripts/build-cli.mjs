#!/usr/bin/env node
// Bundles the CLI (and through it the API server, the executor and every command) into
// dist/bundle/: one entry and shared chunks, split at the CLI's lazy imports so a command still
// loads only what it uses. Node resolves and reads a module per file: unbundled, a server start
// opened about a thousand files (kysely alone ships 265) and spent most of its start-up there.
//
// Left outside the bundle, loaded from node_modules at run time: native and WebAssembly modules,
// and packages that read their own files or start workers from their own directory.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const EXTERNAL = [
  'better-sqlite3', // native addon
  'pg-native', // optional native driver pg tries to load
  '@cedar-policy/cedar-wasm', // reads its .wasm beside itself
  'web-tree-sitter', // reads its .wasm beside itself
  'tree-sitter-bash', // the grammar's .wasm is resolved from the package
  '@fastify/swagger', // reads its own package.json
  '@fastify/swagger-ui', // serves its own static/ directory
  'pino', // starts transport workers from its own files
  '@opentelemetry/*', // loaded only when tracing is on (and its CommonJS build import()s per-platform files)
];

// CommonJS packages the code loads with import() stay outside the bundle when loaded that way:
// esbuild's split chunk for a CommonJS module exports only `default`, so `const { parse } = await
// import('yaml')` would get undefined; Node's own loader gives the named exports. (A static import
// of the same package is still bundled.) The check after the build names any package missing here.
const LAZY_COMMONJS = new Set(['yaml', 'grammy', '@slack/web-api', 'nodemailer']);
const lazyCommonJsStaysExternal = {
  name: 'lazy-commonjs-stays-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.kind === 'dynamic-import' && LAZY_COMMONJS.has(args.path) ? { path: args.path, external: true } : undefined,
    );
  },
};

// `--outdir DIR` writes the bundle elsewhere (the README test builds a throwaway clone's).
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
const root = fileURLToPath(new URL('..', import.meta.url));

const outdir = values.outdir ?? `${root}dist/bundle`;
const started = Date.now();
const result = await build({
  entryPoints: { cli: `${root}src/cli.ts` },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  // Bundled CommonJS packages call require() for Node's built-ins and optional peers.
  banner: {
    js: "import { createRequire as __countersignRequire } from 'node:module'; const require = __countersignRequire(import.meta.url);",
  },
  legalComments: 'eof',
  logLevel: 'warning',
  metafile: true,
  plugins: [lazyCommonJsStaysExternal],
});

// The failure above, caught at build time rather than when a command first calls the package.
const defaultOnly = Object.keys(result.metafile.outputs).filter(
  (file) => file.endsWith('.js') && /^export default require_\w+\(\);$/m.test(readFileSync(file, 'utf8')),
);
if (defaultOnly.length > 0) {
  console.error(
    `build-cli: ${defaultOnly.join(', ')} export only \`default\` (a CommonJS module loaded with import() inside the bundle); add its package to LAZY_COMMONJS`,
  );
  process.exit(1);
}
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.error(`bundled the CLI into ${outdir} (${(bytes / 1e6).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
