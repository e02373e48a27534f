// Request budgets (invariant 17): in one process, or shared by every API replica on PostgreSQL.
export { type BudgetLimits, RequestBudgets } from './choose.ts';
export { WindowCounts } from './counts.ts';
export { PrincipalRateLimiter } from './memory.ts';
export { reserveSize, type SharedCounter, type SharedLimiterOptions, SharedRateLimiter } from './shared.ts';
export { type AdjustableBudget, overBudget, type RequestBudget, WINDOW_MS } from './window.ts';
