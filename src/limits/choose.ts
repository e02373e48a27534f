import type { Store } from '../store/index.ts';
import { PrincipalRateLimiter } from './memory.ts';
import { SharedRateLimiter } from './shared.ts';
import type { AdjustableBudget } from './window.ts';

export interface BudgetLimits {
  perAddressPerMinute: number;
  perPrincipalPerMinute: number;
}

/**
 * The two request budgets of an API process (invariant 17): per address, before authentication,
 * and per principal, after it. Shared through the database on PostgreSQL (any number of replicas,
 * one budget), in process on SQLite (one API process by design). `apply` takes a reloaded
 * config's limits (SIGHUP) without losing the windows already counted.
 */
export class RequestBudgets {
  readonly byAddress: AdjustableBudget;
  readonly byPrincipal: AdjustableBudget;

  constructor(store: Store, limits: BudgetLimits, log?: (line: string) => void) {
    const make = (perMinute: number): AdjustableBudget =>
      store.engine === 'postgres'
        ? new SharedRateLimiter({ perMinute, counter: store.budgetCounters, log })
        : new PrincipalRateLimiter(perMinute);
    this.byAddress = make(limits.perAddressPerMinute);
    this.byPrincipal = make(limits.perPrincipalPerMinute);
  }

  apply(limits: BudgetLimits): void {
    this.byAddress.setLimit(limits.perAddressPerMinute);
    this.byPrincipal.setLimit(limits.perPrincipalPerMinute);
  }
}
