import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * Request budgets shared by every process on this database (src/limits): one counter per key and
 * fixed window. Not per tenant: the keys are principal ids (unique across tenants), addresses
 * and webhook source names, counted before any tenant is known.
 */
export class BudgetCounters {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Adds `amount` to the window's counter in one statement and returns the total after it:
   * concurrent replicas serialize on the row, so no two see the same total.
   */
  async add(key: string, windowStart: string, amount: number, expiresAt: string): Promise<number> {
    const row = await this.db
      .insertInto('rate_windows')
      .values({ key, window_start: windowStart, count: amount, expires_at: expiresAt })
      .onConflict((oc) =>
        oc.columns(['key', 'window_start']).doUpdateSet((eb) => ({ count: eb('rate_windows.count', '+', eb.ref('excluded.count')) })),
      )
      .returning('count')
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** Deletes windows that ended before `now` (ISO); returns how many went. */
  async sweep(now: string): Promise<number> {
    const res = await this.db.deleteFrom('rate_windows').where('expires_at', '<', now).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
