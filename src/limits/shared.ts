import { type AdjustableBudget, boundMap, countUnavailable, overBudget, WINDOW_MS } from './window.ts';

/** The store's counters (BudgetCounters): one upsert per reservation, one delete per sweep. */
export interface SharedCounter {
  add(key: string, windowStart: string, amount: number, expiresAt: string): Promise<number>;
  sweep(now: string): Promise<number>;
}

export interface SharedLimiterOptions {
  perMinute: number;
  counter: SharedCounter;
  now?: () => number;
  /**
   * Requests reserved from the shared counter per round trip (see reserveSize). 1 counts every
   * request in the database.
   */
  reserve?: number;
  maxTracked?: number;
  /** Where a failed sweep of expired windows is reported (the next minute sweeps again). */
  log?: (line: string) => void;
}

/**
 * How many requests one replica takes from the shared counter at a time: 1 % of the budget, at
 * least 1. A reservation is never more than the budget has left, so the replicas together never
 * allow more than the budget; what a replica reserved and did not use before its window ended is
 * lost, so a key spread over N replicas may be refused up to N × (reserve − 1) requests early.
 */
export function reserveSize(perMinute: number): number {
  return Math.max(1, Math.floor(perMinute / 100));
}

interface Allowance {
  window: number;
  /** Requests reserved from the shared counter and not yet used by this process. */
  left: number;
  /** The shared counter reached the budget: refuse locally until the window ends. */
  exhausted: boolean;
  /** The one reservation in flight for this key: concurrent requests wait for it, not add their own. */
  pending: Promise<void> | null;
}

/**
 * A request budget shared by every API replica on one PostgreSQL (issue 16): fixed one-minute
 * windows aligned to the clock, so every replica counts into the same row of `rate_windows`.
 * Each replica reserves a few requests per round trip and spends them locally (see reserveSize);
 * once the shared count reaches the budget, the replica refuses locally until the window ends,
 * so a flood past the budget costs no more round trips.
 *
 * Fails closed: a counter that cannot be read refuses the request (503: STORE_UNAVAILABLE when the
 * database is away, RATE_LIMIT_UNAVAILABLE otherwise)
 * rather than letting it through unbudgeted.
 */
export class SharedRateLimiter implements AdjustableBudget {
  readonly #allowances = new Map<string, Allowance>();
  #perMinute: number;
  readonly #counter: SharedCounter;
  readonly #now: () => number;
  #reserve: number;
  readonly #fixedReserve: number | undefined;
  readonly #maxTracked: number;
  readonly #log: (line: string) => void;
  #lastSweep = 0;

  constructor(o: SharedLimiterOptions) {
    this.#perMinute = o.perMinute;
    this.#counter = o.counter;
    this.#now = o.now ?? Date.now;
    this.#fixedReserve = o.reserve;
    this.#reserve = this.#reserveFor(o.perMinute);
    this.#maxTracked = o.maxTracked ?? 50_000;
    this.#log = o.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  async take(key: string): Promise<void> {
    const t = this.#now();
    const start = t - (t % WINDOW_MS);
    const a = this.#allowance(key, start);
    // Each pass either spends a reserved request, refuses, or waits for one more reservation
    // (which raises the shared count, so the loop ends at the budget at the latest).
    for (;;) {
      if (a.left > 0) {
        a.left -= 1;
        return;
      }
      if (a.exhausted) throw overBudget(this.#perMinute, start + WINDOW_MS, this.#now());
      a.pending ??= this.#reserveInto(key, a).finally(() => {
        a.pending = null;
      });
      await a.pending;
    }
  }

  /**
   * A reloaded config's budget. The shared counts stay in the database, so a window already open
   * goes on counting: a lower budget takes effect at once on every replica that reloaded.
   */
  setLimit(perMinute: number): void {
    this.#perMinute = perMinute;
    this.#reserve = this.#reserveFor(perMinute);
    for (const a of this.#allowances.values()) a.exhausted = false;
  }

  #reserveFor(perMinute: number): number {
    return Math.max(1, Math.min(this.#fixedReserve ?? reserveSize(perMinute), perMinute));
  }

  get tracked(): number {
    return this.#allowances.size;
  }

  #allowance(key: string, start: number): Allowance {
    const known = this.#allowances.get(key);
    if (known && known.window === start) return known;
    const fresh: Allowance = { window: start, left: 0, exhausted: false, pending: null };
    this.#allowances.delete(key);
    this.#allowances.set(key, fresh);
    boundMap(this.#allowances, this.#maxTracked);
    return fresh;
  }

  async #reserveInto(key: string, a: Allowance): Promise<void> {
    this.#sweepNow(a.window);
    const amount = this.#reserve;
    let total: number;
    try {
      // Kept a window past its end, so a replica whose clock runs a little behind still counts into it.
      total = await this.#counter.add(key, new Date(a.window).toISOString(), amount, new Date(a.window + 2 * WINDOW_MS).toISOString());
    } catch (err) {
      throw countUnavailable(err, 'the shared request budget');
    }
    const granted = Math.min(amount, this.#perMinute - (total - amount));
    if (granted > 0) a.left += granted;
    else a.exhausted = true;
  }

  /** Once a minute per replica: expired windows are deleted (any replica may do it; it is idempotent). */
  #sweepNow(windowStart: number): void {
    if (windowStart - this.#lastSweep < WINDOW_MS) return;
    this.#lastSweep = windowStart;
    this.#counter.sweep(new Date(this.#now()).toISOString()).catch((err: unknown) => {
      this.#log(`expired request budget windows could not be swept (next minute again): ${(err as Error).message}`);
    });
  }
}
