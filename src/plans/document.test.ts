import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, type PlanDocument, planHash } from './document.ts';

const doc = (over: Partial<PlanDocument> = {}): PlanDocument => ({
  v: 1,
  tenant: 't',
  environment: 'dev',
  intent: 'x',
  proposer: 'p',
  source: 'api',
  steps: [{ tool: 'echo', action: 'say', input: { message: 'hi', n: 1 }, toolDigest: 'd' }],
  rollback: [],
  ...over,
});

test('hash is independent of key order (RFC 8785)', () => {
  const a = doc();
  const b = JSON.parse(
    '{"rollback":[],"steps":[{"toolDigest":"d","input":{"n":1,"message":"hi"},"action":"say","tool":"echo"}],"source":"api","proposer":"p","intent":"x","environment":"dev","tenant":"t","v":1}',
  );
  assert.equal(planHash(a), planHash(b));
  assert.match(planHash(a), /^[0-9a-f]{64}$/);
});

test('any change of content changes the hash', () => {
  const base = planHash(doc());
  assert.notEqual(planHash(doc({ intent: 'y' })), base);
  assert.notEqual(planHash(doc({ environment: 'prod' })), base);
  assert.notEqual(planHash(doc({ steps: [{ tool: 'echo', action: 'say', input: { message: 'hi', n: 2 }, toolDigest: 'd' }] })), base);
  assert.notEqual(planHash(doc({ steps: [{ tool: 'echo', action: 'say', input: { message: 'hi', n: 1 }, toolDigest: 'other' }] })), base);
});

test('canonical numbers follow RFC 8785 (1.0 and 1 are one value)', () => {
  assert.equal(canonicalJson({ a: 1.0, b: 1e21 }), '{"a":1,"b":1e+21}');
});

test('refuses what cannot be canonicalized with a 400 code', () => {
  assert.throws(() => canonicalJson({ a: '\ud800' }), { code: 'NOT_CANONICALIZABLE' });
  assert.throws(() => canonicalJson({ a: Number.NaN }), { code: 'NOT_CANONICALIZABLE' });
  assert.throws(() => canonicalJson({ a: Number.POSITIVE_INFINITY }), { code: 'NOT_CANONICALIZABLE' });
});
