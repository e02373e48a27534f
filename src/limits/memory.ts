import { type AdjustableBudget, boundMap, overBudget, WINDOW_MS } from './window.ts';

/**
 * A request budget held in this process: a fixed one-minute window per key (a principal id, or
 * an address as `ip:…`), opened by the key's first request. Right for one API process (SQLite);
 * replicas on PostgreSQL share theirs (SharedRateLimiter), or N replicas would allow N budgets.
 */
export class PrincipalRateLimiter implements AdjustableBudget {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(
    private perMinute: number,
    private readonly now: () => number = Date.now,
    private readonly maxTracked = 50_000,
  ) {}

  /** Counts one request; throws RATE_LIMITED with the seconds to wait when over budget. */
  take(key: string): void {
    const t = this.now();
    let w = this.#windows.get(key);
    if (!w || t - w.start >= WINDOW_MS) {
      if (w) this.#windows.delete(key);
      w = { start: t, count: 0 };
      this.#windows.set(key, w);
      boundMap(this.#windows, this.maxTracked);
    }
    w.count++;
    if (w.count > this.perMinute) throw overBudget(this.perMinute, w.start + WINDOW_MS, t);
  }

  /** A reloaded config's budget: windows already open keep their counts. */
  setLimit(perMinute: number): void {
    this.perMinute = perMinute;
  }

  get tracked(): number {
    return this.#windows.size;
  }
}
