import { CountersignError } from '../errors/index.ts';

/**
 * A request budget (invariant 17): a fixed one-minute window per key (a principal id, or an
 * address as `ip:…`).
 * The map is bounded — when full, the oldest windows are dropped — so a flood of distinct
 * identities cannot grow memory without limit.
 */
export class PrincipalRateLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
    private readonly maxTracked = 50_000,
  ) {}

  /** Counts one request; throws RATE_LIMITED with the seconds to wait when over budget. */
  take(key: string): void {
    const principalId = key;
    const t = this.now();
    let w = this.#windows.get(principalId);
    if (!w || t - w.start >= 60_000) {
      if (w) this.#windows.delete(principalId);
      w = { start: t, count: 0 };
      this.#windows.set(principalId, w);
      if (this.#windows.size > this.maxTracked) {
        const oldest = this.#windows.keys().next().value;
        if (oldest !== undefined) this.#windows.delete(oldest);
      }
    }
    w.count++;
    if (w.count > this.perMinute) {
      const retryAfterSeconds = Math.max(1, Math.ceil((w.start + 60_000 - t) / 1000));
      throw new CountersignError(
        'RATE_LIMITED',
        `rate limit of ${this.perMinute} requests per minute reached; retry in ${retryAfterSeconds} s`,
        {
          details: { retryAfterSeconds },
        },
      );
    }
  }

  get tracked(): number {
    return this.#windows.size;
  }
}
