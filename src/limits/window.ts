import { CountersignError } from '../errors/index.ts';

/** Every budget counts over fixed one-minute windows (invariant 17). */
export const WINDOW_MS = 60_000;

/** What every request budget offers: count one request for `key`, or refuse it. */
export interface RequestBudget {
  /** Throws RATE_LIMITED (over budget) or, for a shared budget that cannot be read, RATE_LIMIT_UNAVAILABLE. */
  take(key: string): void | Promise<void>;
}

/** A budget whose limit a config reload may change while it runs. */
export interface AdjustableBudget extends RequestBudget {
  setLimit(perMinute: number): void;
}

/** The refusal of a request over its budget, with the seconds until its window ends. */
export function overBudget(perMinute: number, windowEndsAt: number, now: number): CountersignError {
  const retryAfterSeconds = Math.max(1, Math.ceil((windowEndsAt - now) / 1000));
  return new CountersignError('RATE_LIMITED', `rate limit of ${perMinute} requests per minute reached; retry in ${retryAfterSeconds} s`, {
    details: { retryAfterSeconds },
  });
}

/**
 * Drops the oldest entries of a map past `max`: a flood of distinct keys (addresses, forged
 * principals) cannot grow memory without limit. Maps keep insertion order.
 */
export function boundMap<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) return;
    map.delete(oldest.value);
  }
}
