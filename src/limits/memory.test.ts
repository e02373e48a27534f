import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PrincipalRateLimiter } from './memory.ts';

test('refuses past the budget with the seconds left in the window, then resets', () => {
  let now = 1_000_000;
  const l = new PrincipalRateLimiter(3, () => now);
  for (let i = 0; i < 3; i++) l.take('p');
  assert.throws(
    () => l.take('p'),
    (e: Error & { code?: string; details?: { retryAfterSeconds: number } }) =>
      e.code === 'RATE_LIMITED' && e.details?.retryAfterSeconds === 60,
  );
  l.take('q');
  now += 60_000;
  l.take('p');
});

test('tracks a bounded number of principals', () => {
  const l = new PrincipalRateLimiter(10, () => 0, 100);
  for (let i = 0; i < 1000; i++) l.take(`p${i}`);
  assert.ok(l.tracked <= 100);
});
