export type { ApprovalRecord } from './repos/approvals.ts';
export type { ConsoleSessionRecord, WebAuthnCredentialRecord } from './repos/console.ts';
export {
  ACTIVE_EXECUTION,
  type EventRecord,
  EXECUTION_STATUSES,
  type ExecutionRecord,
  type ExecutionStatus,
  type StepRecord,
  TERMINAL_EXECUTION_STATUSES,
} from './repos/executions.ts';
export type { FreezeRecord } from './repos/freezes.ts';
export type { GrantRow } from './repos/grants.ts';
export type { OverrideRecord } from './repos/overrides.ts';
export { PLAN_STATUSES, type PlanPage, type PlanRecord, type PlanStatus, type StoredApprovalRequirement } from './repos/plans.ts';
export type { ApiKeyRecord, PrincipalRecord } from './repos/principals.ts';
export type { TrustedKeyRecord } from './repos/trust.ts';
export type { WitnessedCheckpointRecord } from './repos/witnessed.ts';
export type { Database } from './schema.ts';
export type { SegmentOptions } from './sqlite/audit-readers.ts';
export { type AuditSearch, Store, type StoreOptions, TenantScope } from './store.ts';

/** The tenant id of installation-wide audit entries and the host operator's scope (no tenant). */
export const NO_TENANT = '-';
export { backoffMs, isStoreUnavailable } from './availability.ts';
export { principalNameKey } from './name-key.ts';
export { type AlertGroupRecord, type AlertPlanRecord, MAX_GROUP_FINGERPRINTS } from './repos/alerts.ts';
// ---- notifications and chat (issue 14) ----
export type { ChatCodeRow, ChatLinkRow, ChatLookup, ChatMessageRow, ChatRepo } from './repos/chat.ts';
export type {
  ChannelHealthRow,
  ClaimedDelivery,
  DeliveryRow,
  NotificationQueue,
  OutboxEvent,
  OutboxRow,
} from './repos/notifications.ts';
// ---- previews (issue 17) ----
export type { PreviewJobRecord, PreviewJobState, PreviewQueue } from './repos/previews.ts';
