import { CountersignError } from '../errors/index.ts';
import { isStoreUnavailable } from '../store/index.ts';

/** Every budget counts over fixed one-minute windows (invariant 17). */
export const WINDOW_MS = 60_000;

/** What every request budget offers: count one request for `key`, or refuse it. */
export interface RequestBudget {
  /**
   * Throws RATE_LIMITED (over budget) or, for a shared budget that cannot be read,
   * STORE_UNAVAILABLE (the database is away) or RATE_LIMIT_UNAVAILABLE (any other failure).
   */
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

/**
 * The refusal of a request whose shared count could not be read (fail closed, 503). When the
 * database itself is away the answer is the one every other route gives then, STORE_UNAVAILABLE,
 * so an operator and a client see one cause, not whichever check happened to run first.
 */
export function countUnavailable(err: unknown, what: string): CountersignError {
  if (isStoreUnavailable(err))
    return new CountersignError(
      'STORE_UNAVAILABLE',
      `the database is unreachable, so ${what} could not be read and the request was refused; retry`,
      {
        cause: err,
        details: { retryAfterSeconds: 5 },
      },
    );
  return new CountersignError('RATE_LIMIT_UNAVAILABLE', `${what} could not be read, so the request was refused; retry`, {
    cause: err,
    details: { retryAfterSeconds: 5 },
  });
}
