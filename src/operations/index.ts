// The operations table and the one pipeline that runs it (invariant 2). Interfaces (REST, CLI,
// MCP, and the console, chat and webhooks to come) call `pipeline.run(name, principal, input,
// channel)`; nothing else changes state.

// alerts
export { type PlanOrigin, ReceiveAlertInput, type ReceiveResult, RecordAlertPlanInput } from './alerts.ts';
export { ListAuditQuerySchema } from './audit.ts';
// ---- chat (issue 14) ----
export { CHAT_PLATFORMS, ChatLinkStartResultSchema, ChatLinksSchema, ChatUnlinkSchema, NotificationChannelsSchema } from './chat.ts';
export { type Admission, AuditSearchSchema, type PlanReviewPage, type ReviewEligibility, type ReviewToolView } from './console.ts';
export type { OperationDeps } from './deps.ts';
export { ExecuteBodySchema, type ExecuteResult, FreezeBodySchema } from './executions.ts';
export { DEFAULT_ENVIRONMENTS, type HostDeps, type ProvisionedTenant, systemPrincipal } from './host.ts';
export type { PolicyUpgrader, PreparedCheckpoint } from './host-maintenance.ts';
export type { ToolReloadResult, ToolSetSource } from './host-reload.ts';
export { Pipeline, type PipelineDeps } from './pipeline.ts';
export { ListPlansQuerySchema } from './plans.ts';
export { CreateKeySchema, CreatePrincipalSchema } from './principals.ts';
export type { RecoveredAdmin } from './recover-admin.ts';
export { InboxQuerySchema, ReviewBodySchema, type ReviewResult, reviewOperationFor } from './reviews.ts';
// ---- replicas ----
export type {
  ConfigReloadChanges,
  PlaybookReloadChanges,
  PreparedReload,
  ReloadSource,
  SettingsReloadDeps,
} from './settings-reload.ts';
export { apiOperations, apiPipeline, hostPipeline } from './table.ts';
export type { AnyOperation, Channel, Effect, Operation, OperationContext, PipelineObserver } from './types.ts';
