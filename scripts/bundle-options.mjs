// The esbuild choices the CLI's bundle (build-cli.mjs) and the test files' bundles
// (build-tests.mjs) share: what stays in node_modules, and the check that a split chunk did not
// turn a CommonJS package loaded with import() into a default-only module.
import { readFileSync } from 'node:fs';

// Left outside the bundle, loaded from node_modules at run time: native and WebAssembly modules,
// and packages that read their own files or start workers from their own directory.
export const EXTERNAL = [
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
// of the same package is still bundled.) defaultOnlyChunks names any package missing here.
const LAZY_COMMONJS = new Set(['yaml', 'grammy', '@slack/web-api', 'nodemailer']);
export const lazyCommonJsStaysExternal = {
  name: 'lazy-commonjs-stays-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.kind === 'dynamic-import' && LAZY_COMMONJS.has(args.path) ? { path: args.path, external: true } : undefined,
    );
  },
};

// Bundled CommonJS packages call require() for Node's built-ins and optional peers.
export const REQUIRE_BANNER = {
  js: "import { createRequire as __countersignRequire } from 'node:module'; const require = __countersignRequire(import.meta.url);",
};

/** The output chunks (of an esbuild metafile) that export only a CommonJS module's `default`. */
export function defaultOnlyChunks(metafile) {
  return Object.keys(metafile.outputs).filter(
    (file) => file.endsWith('.js') && /^export default require_\w+\(\);$/m.test(readFileSync(file, 'utf8')),
  );
}
