#!/usr/bin/env node
// Runs every test file (src/**/*.test.ts and test/**/*.test.ts) with Node's test runner via tsx.
// PostgreSQL tests need COUNTERSIGN_TEST_DATABASE_URL; under CI=true they are required. After the
// runner's own summary it prints the slowest files, the PostgreSQL suites skipped (if any) and a
// plain `tests: N passed, N failed, N skipped` line; the exit status is the runner's (after one
// re-run of files whose process crashed inside the runtime, when those are the only failures).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// The longest files start first (longest processing time first): started last, one of them
// would run alone at the end while the other slots idle. Measured on a full run; a file missing
// here just runs in name order after these.
const LONGEST_FIRST = [
  'test/execution-concurrency.test.ts',
  'test/datadir.test.ts',
  'test/attacks/executor-crash.test.ts',
  'test/console-browser.test.ts',
  'test/scale/chaos.test.ts',
  'test/attacks/grant-forgery.test.ts',
  'test/attacks/break-glass.test.ts',
  'test/attacks/audit-tamper.test.ts',
  'test/telemetry-traces.test.ts',
  'test/tool-reload.test.ts',
  'test/readme-postgres.test.ts',
  'test/readme.test.ts',
];
const rank = (f) => {
  const i = LONGEST_FIRST.findIndex((slow) => f.endsWith(slow));
  return i === -1 ? LONGEST_FIRST.length : i;
};

const filters = process.argv.slice(2);
let files = [...find('src'), ...find('test')].sort().sort((a, b) => rank(a) - rank(b));
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));

if (!process.env.COUNTERSIGN_TEST_DATABASE_URL) {
  if (process.env.CI === 'true') {
    console.error('CI=true but COUNTERSIGN_TEST_DATABASE_URL is not set: the PostgreSQL tests are required in CI.');
    process.exit(2);
  }
  console.error('NOTICE: COUNTERSIGN_TEST_DATABASE_URL is not set — PostgreSQL variants of the tests are SKIPPED.');
  console.error('        e.g. COUNTERSIGN_TEST_DATABASE_URL=postgres://countersign:countersign@127.0.0.1:5432/countersign_test npm test');
}

// Test files run in parallel child processes; most of their time is spent waiting on servers,
// sandboxes and PostgreSQL, not on the CPU. COUNTERSIGN_TEST_CONCURRENCY overrides the default.
const concurrency = Number(process.env.COUNTERSIGN_TEST_CONCURRENCY ?? 2);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`COUNTERSIGN_TEST_CONCURRENCY must be a whole number ≥ 1, got "${process.env.COUNTERSIGN_TEST_CONCURRENCY}"`);
  process.exit(2);
}

// A whole run builds dist/ once (what `npm ci` runs as `prepare`) and the tests' CLI children run
// the bundled CLI in it, as bin/countersign.js does: a process started through tsx compiles the
// CLI's sources again on every start (~3× slower than the built CLI here), and the suite starts
// the CLI hundreds of times. A run of chosen files
// keeps tsx (always the current source, no build wait) unless COUNTERSIGN_TEST_BUILD=1.
const build = process.env.COUNTERSIGN_TEST_BUILD ?? (filters.length === 0 ? '1' : '0');
const testEnv = { ...process.env, NODE_ENV: 'test' };
/** dist/ is current when it was written after every source file changed (npm ci's `prepare` build). */
function distIsCurrent() {
  const entry = 'dist/bundle/cli.js';
  let built;
  try {
    built = statSync(entry).mtimeMs;
  } catch {
    return false;
  }
  const sources = [];
  (function walk(dir) {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else sources.push(p);
    }
  })('src');
  sources.push('tsconfig.json', 'tsconfig.build.json', 'package-lock.json');
  return sources.every((f) => statSync(f).mtimeMs <= built);
}

if (build === '1' && distIsCurrent()) {
  testEnv.COUNTERSIGN_TEST_CLI = 'dist';
} else if (build === '1') {
  const t = Date.now();
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const bundler = fileURLToPath(new URL('./build-cli.mjs', import.meta.url));
  for (const step of [[tsc, '-p', 'tsconfig.build.json', '--noEmit'], [bundler]]) {
    const b = spawnSync(process.execPath, step, { stdio: 'inherit' });
    if (b.status !== 0) {
      console.error('the build failed: the tests need dist/ (see the errors above)');
      process.exit(b.status ?? 1);
    }
  }
  console.error(`built dist/ for the tests' CLI processes in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  testEnv.COUNTERSIGN_TEST_CLI = 'dist';
}

// A built run also bundles the test files (scripts/build-tests.mjs) and runs the bundles without
// tsx: through tsx each test process spent ~3 s of CPU resolving and transforming its sources
// before its first test. `sourceOf` maps a bundle back to its test file for every report below.
const TEST_BUILD = fileURLToPath(new URL('../.test-build', import.meta.url));
let sourceOf = (file) => file;
let runnable = files;
const nodeArgs = ['--import', 'tsx'];
// Test processes are short-lived, like the CLI's one-shot commands (src/cli/main.ts): they compile
// WebAssembly (Cedar, tree-sitter, fetch's parser) with V8's baseline compiler only. Optimizing
// Cedar's 4 MB module in the background cost each test process ~0.5-2 s of CPU it never got back;
// the code means the same on either tier, and the servers `serve` starts keep the optimizing one.
const V8_FLAGS = ['--liftoff-only'];
if (build === '1') {
  const t = Date.now();
  rmSync(TEST_BUILD, { recursive: true, force: true });
  const bundler = fileURLToPath(new URL('./build-tests.mjs', import.meta.url));
  const b = spawnSync(process.execPath, [bundler, '--outdir', TEST_BUILD, ...files], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (b.status !== 0) {
    console.error('bundling the test files failed (see the errors above)');
    process.exit(b.status ?? 1);
  }
  const built = JSON.parse(b.stdout); // bundle → test file
  const byTest = new Map(Object.entries(built).map(([bundle, test]) => [test, bundle]));
  runnable = files.map((f) => byTest.get(resolve(f)) ?? f);
  sourceOf = (file) => built[file] ?? file;
  nodeArgs.splice(0, nodeArgs.length, '--enable-source-maps');
  console.error(`bundled ${byTest.size} test files in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

// The runner's own report (spec on a terminal, TAP otherwise: what CI reads) goes to stdout as
// before; a second reporter writes the facts for the lines below to a file.
const reporter = process.stdout.isTTY ? 'spec' : 'tap';
function runFiles(list, v8Flags = []) {
  const factsDir = mkdtempSync(join(tmpdir(), 'countersign-test-'));
  const factsFile = join(factsDir, 'facts.json');
  const args = [
    ...nodeArgs,
    ...V8_FLAGS,
    ...v8Flags,
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-timeout=600000',
    `--test-reporter=${reporter}`,
    '--test-reporter-destination=stdout',
    `--test-reporter=${fileURLToPath(new URL('./test-facts.mjs', import.meta.url))}`,
    `--test-reporter-destination=${factsFile}`,
    ...list,
  ];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', env: testEnv });
  try {
    return { status: r.status ?? 1, facts: JSON.parse(readFileSync(factsFile, 'utf8')) };
  } catch {
    // The runner died before its reporters finished: its exit status says so, and nothing is added.
    return { status: r.status ?? 1, facts: null };
  } finally {
    rmSync(factsDir, { recursive: true, force: true });
  }
}

const started = Date.now();
let { status, facts } = runFiles(runnable);

// Node 20's V8 now and then dies of a fatal error of its own ("unreachable code" in the
// deoptimizer, SIGTRAP) in a busy test process; test/execution-concurrency.test.ts met it in
// about one full run in six here, and twice in a row when three files ran at once. When every
// failure of the run is such a crash, the crashed files run once more with V8's optimizing
// compiler off (--max-opt=1: code that is never optimized is never deoptimized), and both runs
// are reported: an assertion that fails, or a file that crashes twice, still fails the run.
const crashed = facts?.crashed ?? [];
if (status !== 0 && crashed.length > 0 && (facts.counts.fail ?? 0) === crashed.length && !facts.counts.cancelled) {
  const list = crashed.map((c) => relative(process.cwd(), sourceOf(c.file)));
  console.log(`\nRE-RUNNING ${list.length} file(s) whose process was killed by a crash signal, not by a failed test (V8 --max-opt=1):`);
  for (const c of crashed) console.log(`  ${relative(process.cwd(), sourceOf(c.file))} (${c.signal})`);
  const again = runFiles(
    crashed.map((c) => c.file),
    ['--max-opt=1'],
  );
  console.log(
    again.status === 0
      ? `\nThe re-run passed: ${list.join(', ')} crashed once (a runtime crash, reported above) and then passed.`
      : '\nThe re-run failed too: see its report above.',
  );
  status = again.status;
  if (facts && again.facts) {
    const c = facts.counts;
    const a = again.facts.counts;
    c.pass = (c.pass ?? 0) + (a.pass ?? 0);
    c.fail = (a.fail ?? 0) + (a.cancelled ?? 0);
    c.skipped = (c.skipped ?? 0) + (a.skipped ?? 0);
    for (const [file, ms] of Object.entries(again.facts.files)) facts.files[file] = (facts.files[file] ?? 0) + ms;
  }
}

if (facts) facts.files = Object.fromEntries(Object.entries(facts.files).map(([file, ms]) => [sourceOf(file), ms]));
if (facts && process.env.COUNTERSIGN_TEST_TIMES) {
  // Every file's time, for whoever tunes the suite (the report below keeps the ten slowest).
  writeFileSync(process.env.COUNTERSIGN_TEST_TIMES, `${JSON.stringify(facts.files, null, 2)}\n`);
}
if (facts) {
  const slowest = Object.entries(facts.files)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10);
  console.log(
    `\nSlowest test files (time in their top-level tests; whole run ${((Date.now() - started) / 1000).toFixed(0)} s, concurrency ${concurrency}):`,
  );
  for (const [file, ms] of slowest) console.log(`  ${(ms / 1000).toFixed(1).padStart(7)} s  ${relative(process.cwd(), file)}`);
  const { suites, tests } = facts.postgresSkipped;
  if (suites + tests > 0) {
    console.log(
      `\nPostgreSQL SKIPPED: ${suites} suite(s) and ${tests} test(s) did not run (COUNTERSIGN_TEST_DATABASE_URL is not set); storage was tested on SQLite only.`,
    );
  }
  // A closing line in the plain form any CI reads, from the runner's own counts.
  const c = facts.counts;
  if (c.pass !== undefined)
    console.log(`\ntests: ${c.pass} passed, ${(c.fail ?? 0) + (c.cancelled ?? 0)} failed, ${c.skipped ?? 0} skipped`);
}
process.exit(status);
