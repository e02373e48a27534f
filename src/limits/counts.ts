import type { SharedCounter } from './shared.ts';
import { boundMap, countUnavailable, WINDOW_MS } from './window.ts';

/**
 * Exact counts per key and fixed one-minute window (aligned to the clock), for budgets whose
 * every event must be counted where all replicas see it (alert deliveries per webhook source):
 * one upsert per event on PostgreSQL, a map in process otherwise. Unlike SharedRateLimiter
 * nothing is reserved, so "the first event past the budget" is one event across all replicas.
 */
export class WindowCounts {
  readonly #local = new Map<string, { window: number; count: number }>();

  constructor(
    private readonly counter: SharedCounter | null,
    private readonly now: () => number = Date.now,
    private readonly maxTracked = 10_000,
  ) {}

  /** Counts one event for `key`; returns its window's start and the count including it. */
  async add(key: string): Promise<{ window: number; count: number }> {
    const t = this.now();
    const window = t - (t % WINDOW_MS);
    if (!this.counter) {
      let w = this.#local.get(key);
      if (!w || w.window !== window) {
        this.#local.delete(key);
        w = { window, count: 0 };
        this.#local.set(key, w);
        boundMap(this.#local, this.maxTracked);
      }
      w.count += 1;
      return { window, count: w.count };
    }
    try {
      const count = await this.counter.add(key, new Date(window).toISOString(), 1, new Date(window + 2 * WINDOW_MS).toISOString());
      return { window, count };
    } catch (err) {
      throw countUnavailable(err, 'the shared rate count');
    }
  }
}
