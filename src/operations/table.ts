import { alertOperations } from './alerts.ts';
import { auditOperations } from './audit.ts';
import { chatOperations } from './chat.ts';
import { consoleOperations } from './console.ts';
import type { OperationDeps } from './deps.ts';
import { executionOperations } from './executions.ts';
import { type HostDeps, hostOperations } from './host.ts';
import { overrideOperations } from './overrides.ts';
import { Pipeline } from './pipeline.ts';
import { planOperations } from './plans.ts';
import { previewOperation } from './previews.ts';
import { principalOperations } from './principals.ts';
import { expiryOperation, reviewOperations } from './reviews.ts';
import { type SettingsReloadDeps, settingsReloadOperations } from './settings-reload.ts';
import { toolOperations } from './tools.ts';
import { trustOperations } from './trust.ts';
import type { AnyOperation } from './types.ts';

/**
 * The operations table: every operation of the API process, privileged or read, in one list.
 * REST routes, CLI commands and MCP tools map onto these names; the chokepoint test is
 * generated from this list. Adding a capability means adding a row here.
 */
export function apiOperations(deps: OperationDeps & HostDeps & SettingsReloadDeps): AnyOperation[] {
  return [
    ...planOperations(deps),
    ...reviewOperations(deps),
    // The sweeper's (host): overdue plans expire.
    expiryOperation(deps),
    ...executionOperations(deps),
    ...overrideOperations(deps),
    ...principalOperations(deps),
    ...trustOperations(deps),
    ...auditOperations(),
    ...toolOperations(deps),
    ...hostOperations(deps),
    // alerts: webhook deliveries, alert plans and their origin
    ...alertOperations(deps),
    // ---- chat (issue 14) ----
    ...chatOperations(deps),
    // --- reviewer console (issue 13) ---
    ...consoleOperations(deps),
    // ---- replicas: config and playbooks reloaded on SIGHUP ----
    ...settingsReloadOperations(deps),
    // ---- previews (issue 17) ----
    previewOperation(deps),
  ];
}

/** The pipeline of the API process, over the whole table. */
export function apiPipeline(deps: OperationDeps & HostDeps & SettingsReloadDeps): Pipeline {
  return new Pipeline(deps, apiOperations(deps));
}

/**
 * The pipeline of a host command that has no API context (init, `grant rotate-key`): the host
 * operations alone, decided by the data directory's policies like every other operation.
 */
export function hostPipeline(deps: HostDeps): Pipeline {
  return new Pipeline(deps, hostOperations(deps));
}
