import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Clock, pollUntil } from './poll.ts';

/** A clock that only moves when the poller sleeps. */
function fakeClock(): Clock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms, signal) => {
      if (signal.aborted) throw new Error('aborted');
      slept.push(ms);
      now += ms;
    },
  };
}

test('re-reads until done, reporting increasing progress with what is awaited', async () => {
  const clock = fakeClock();
  const states = ['pending', 'pending', 'pending', 'approved'];
  const progress: [number, number, string][] = [];
  const r = await pollUntil({
    read: async () => states.shift() ?? 'approved',
    done: (s) => s !== 'pending',
    describe: () => 'needs 1 more approval from group sre',
    timeoutMs: 10_000,
    intervalMs: 1000,
    signal: new AbortController().signal,
    progress: async (p, total, message) => {
      progress.push([p, total, message]);
    },
    clock,
  });
  assert.deepEqual(r, { cancelled: false, timedOut: false, value: 'approved' });
  assert.deepEqual(
    progress.map(([p]) => p),
    [0, 1, 2],
  );
  assert.ok(progress.every(([, total, m]) => total === 10 && /needs 1 more approval from group sre/.test(m)));
});

test('stops at the timeout with the last value, never sleeping past it', async () => {
  const clock = fakeClock();
  const r = await pollUntil({
    read: async () => 'pending',
    done: () => false,
    describe: () => '',
    timeoutMs: 2500,
    intervalMs: 1000,
    signal: new AbortController().signal,
    progress: null,
    clock,
  });
  assert.deepEqual(r, { cancelled: false, timedOut: true, value: 'pending' });
  assert.deepEqual(clock.slept, [1000, 1000, 500]);
});

test('a cancelled request stops waiting', async () => {
  const controller = new AbortController();
  controller.abort();
  const r = await pollUntil({
    read: async () => 'pending',
    done: () => false,
    describe: () => '',
    timeoutMs: 60_000,
    intervalMs: 1000,
    signal: controller.signal,
    progress: null,
    clock: fakeClock(),
  });
  assert.deepEqual(r, { cancelled: true });
});
