#!/usr/bin/env node
// Runs the bundled CLI (built by `npm ci` / `npm run build` into dist/bundle/).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bundle/cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('countersign: dist/ is missing; run `npm run build` (npm ci runs it for you).\n');
  process.exit(3);
}
await import(entry.href);
