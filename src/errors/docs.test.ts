import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderErrorDocs } from './docs.ts';

test('docs/errors.md lists exactly the error codes in src/errors/codes.ts', () => {
  const onDisk = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  assert.equal(onDisk, renderErrorDocs(), 'docs/errors.md is stale: run `npm run docs:errors`');
});
