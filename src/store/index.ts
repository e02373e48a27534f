export type { PlanPage, PlanRecord } from './repos/plans.ts';
export type { ApiKeyRecord, PrincipalRecord } from './repos/principals.ts';
export type { Database } from './schema.ts';
export { Store, type StoreOptions, TenantScope } from './store.ts';
