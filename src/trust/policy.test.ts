import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeTool, loadThreshold, requiredSignatures } from './policy.ts';

test('K per environment, the default elsewhere, never below 1; loading needs the smallest K', () => {
  const trust = { required: 1, environments: { prod: 2 } };
  assert.equal(requiredSignatures(trust, 'prod'), 2);
  assert.equal(requiredSignatures(trust, 'dev'), 1);
  assert.equal(loadThreshold(trust), 1);
  assert.equal(loadThreshold({ required: 3, environments: { dev: 2 } }), 2);
  assert.equal(requiredSignatures({ required: 0, environments: {} }, 'dev'), 1);
});

test('judging a tool: enough signatures pass, too few fail unless development mode, a bad one always fails', () => {
  const base = { tool: 't', environment: 'prod', required: 2, bad: [] as string[], developmentMode: false };
  assert.equal(judgeTool({ ...base, valid: ['a', 'b'] }).ok, true);
  const short = judgeTool({ ...base, valid: ['a'] });
  assert.equal(short.ok, false);
  const dev = judgeTool({ ...base, valid: ['a'], developmentMode: true });
  assert.ok(dev.ok && dev.unsigned);
  assert.equal(judgeTool({ ...base, valid: ['a', 'b'], bad: ['c'], developmentMode: true }).ok, false);
});
