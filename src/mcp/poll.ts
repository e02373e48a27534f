import { setTimeout as sleep } from 'node:timers/promises';

/** Time for the waiting tools; injectable so tests need not wait on the wall clock. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
};

/** Sends one progress notification: seconds waited so far, of the total, and what is awaited. */
export type ProgressReporter = (progress: number, total: number, message: string) => Promise<void>;

export interface PollOptions<T> {
  read: () => Promise<T>;
  done: (value: T) => boolean;
  /** The progress message for a value that is not done yet. */
  describe: (value: T) => string;
  timeoutMs: number;
  intervalMs: number;
  signal: AbortSignal;
  progress: ProgressReporter | null;
  clock?: Clock;
}

export type PollResult<T> = { cancelled: true } | { cancelled: false; timedOut: boolean; value: T };

/**
 * Re-reads until `done` or the timeout, reporting progress after each read that is not done.
 * Every read goes through the backend, so each one is authorized again as the caller.
 */
export async function pollUntil<T>(o: PollOptions<T>): Promise<PollResult<T>> {
  const clock = o.clock ?? systemClock;
  const started = clock.now();
  let reported = -1;
  for (;;) {
    const value = await o.read();
    if (o.done(value)) return { cancelled: false, timedOut: false, value };
    const elapsed = clock.now() - started;
    if (elapsed >= o.timeoutMs) return { cancelled: false, timedOut: true, value };
    if (o.progress) {
      // Progress must increase with every notification (MCP spec), even if the clock did not move.
      const seconds = Math.max(Math.round(elapsed / 100) / 10, reported + 0.1);
      reported = seconds;
      await o.progress(
        seconds,
        o.timeoutMs / 1000,
        `waiting ${Math.round(elapsed / 1000)}s of ${o.timeoutMs / 1000}s: ${o.describe(value)}`,
      );
    }
    try {
      await clock.sleep(Math.min(o.intervalMs, o.timeoutMs - elapsed), o.signal);
    } catch (err) {
      if (o.signal.aborted) return { cancelled: true };
      throw err;
    }
  }
}
