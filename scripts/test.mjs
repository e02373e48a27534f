#!/usr/bin/env node
// Runs every test file (src/**/*.test.ts and test/**/*.test.ts) with Node's test runner via tsx.
// PostgreSQL tests need COUNTERSIGN_TEST_DATABASE_URL; under CI=true they are required. After the
// runner's own summary it prints the slowest files, the PostgreSQL suites skipped (if any) and a
// plain `tests: N passed, N failed, N skipped` line; the exit status is the runner's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
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
  'test/readme.test.ts',
  'test/console-browser.test.ts',
  'test/datadir.test.ts',
  'test/execution-concurrency.test.ts',
  'test/executor-crash.test.ts',
  'test/scale/chaos.test.ts',
  'test/chat-decisions.test.ts',
  'test/alerts-planner.test.ts',
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

// The runner's own report (spec on a terminal, TAP otherwise: what CI reads) goes to stdout as
// before; a second reporter writes the facts for the lines below to a file.
const factsDir = mkdtempSync(join(tmpdir(), 'countersign-test-'));
const factsFile = join(factsDir, 'facts.json');
const reporter = process.stdout.isTTY ? 'spec' : 'tap';
const args = [
  '--import',
  'tsx',
  '--test',
  `--test-concurrency=${concurrency}`,
  '--test-timeout=600000',
  `--test-reporter=${reporter}`,
  '--test-reporter-destination=stdout',
  `--test-reporter=${fileURLToPath(new URL('./test-facts.mjs', import.meta.url))}`,
  `--test-reporter-destination=${factsFile}`,
  ...files,
];
const started = Date.now();
const r = spawnSync(process.execPath, args, { stdio: 'inherit', env: testEnv });
const status = r.status ?? 1;

let facts = null;
try {
  facts = JSON.parse(readFileSync(factsFile, 'utf8'));
} catch {
  // The runner died before its reporters finished: its exit status says so, and nothing is added.
} finally {
  rmSync(factsDir, { recursive: true, force: true });
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
