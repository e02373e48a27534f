import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WindowCounts } from './counts.ts';
import { type SharedCounter, SharedRateLimiter } from './shared.ts';

/** A counter whose every call fails with `err` (what the store's counters throw when they cannot answer). */
function failing(err: Error): SharedCounter {
  return {
    add: () => Promise.reject(err),
    sweep: () => Promise.resolve(0),
  };
}
const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
const missing = Object.assign(new Error('relation "rate_windows" does not exist'), { code: '42P01' });
const codeOf = (code: string) => (e: Error & { code?: string; details?: { retryAfterSeconds?: number } }) =>
  e.code === code && e.details?.retryAfterSeconds === 5;

test('a shared budget refuses when its count cannot be read: the database away reads as STORE_UNAVAILABLE', async () => {
  const l = new SharedRateLimiter({ perMinute: 10, counter: failing(refused), log: () => undefined });
  await assert.rejects(l.take('p'), codeOf('STORE_UNAVAILABLE'));
  const c = new WindowCounts(failing(refused));
  await assert.rejects(c.add('k'), codeOf('STORE_UNAVAILABLE'));
});

test('any other failure of the shared count refuses as RATE_LIMIT_UNAVAILABLE', async () => {
  const l = new SharedRateLimiter({ perMinute: 10, counter: failing(missing), log: () => undefined });
  await assert.rejects(l.take('p'), codeOf('RATE_LIMIT_UNAVAILABLE'));
  const c = new WindowCounts(failing(missing));
  await assert.rejects(c.add('k'), codeOf('RATE_LIMIT_UNAVAILABLE'));
});

test('a reservation spends locally: one round trip serves several requests, and the budget holds', async () => {
  let calls = 0;
  let total = 0;
  const counter: SharedCounter = {
    add: async (_k, _w, amount) => {
      calls += 1;
      total += amount;
      return total;
    },
    sweep: async () => 0,
  };
  const l = new SharedRateLimiter({ perMinute: 7, counter, reserve: 3, now: () => 120_000 });
  for (let i = 0; i < 7; i++) await l.take('p');
  assert.equal(calls, 3, 'three reservations (3 + 3 + the 1 left of the budget) covered seven requests');
  const over = (e: Error & { code?: string }) => e.code === 'RATE_LIMITED';
  await assert.rejects(l.take('p'), over);
  assert.equal(calls, 4, 'the eighth request asked once and learned the budget is spent');
  await assert.rejects(l.take('p'), over);
  assert.equal(calls, 4, 'past the budget a replica refuses without a round trip');
});
