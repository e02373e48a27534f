#!/usr/bin/env node
// Runs every test file (src/**/*.test.ts and test/**/*.test.ts) with Node's test runner via tsx.
// PostgreSQL tests need COUNTERSIGN_TEST_DATABASE_URL; under CI=true they are required.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
let files = [...find('src'), ...find('test')].sort();
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));

if (!process.env.COUNTERSIGN_TEST_DATABASE_URL) {
  if (process.env.CI === 'true') {
    console.error('CI=true but COUNTERSIGN_TEST_DATABASE_URL is not set: the PostgreSQL tests are required in CI.');
    process.exit(2);
  }
  console.error('NOTICE: COUNTERSIGN_TEST_DATABASE_URL is not set — PostgreSQL variants of the tests are SKIPPED.');
  console.error('        e.g. COUNTERSIGN_TEST_DATABASE_URL=postgres://countersign:countersign@127.0.0.1:5432/countersign_test npm test');
}

const args = ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } });
process.exit(r.status ?? 1);
