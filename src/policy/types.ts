import type { Risk } from '../tools/index.ts';

/** Where a plan came from: a fact policies and approval rules see (webhook and planner are untrusted). */
export const PLAN_SOURCES = ['api', 'cli', 'mcp', 'webhook', 'planner'] as const;
export type PlanSource = (typeof PLAN_SOURCES)[number];

/** Who is calling, resolved by the server from a verified credential — never from a body. */
export interface Principal {
  tenantId: string;
  id: string;
  name: string;
  /**
   * `system` is the host operator acting on the server host (init, key rotation, sweeps);
   * `webhook` is an alert source declared in config, proven by its delivery signature: it may
   * propose, never review (src/alerts).
   */
  kind: 'human' | 'agent' | 'system' | 'webhook';
  groups: readonly string[];
  /** How this identity was proven, for audit. */
  authMethod: 'api_key' | 'oidc' | 'system' | 'webhook_signature' | 'chat_link';
}

/** Host operator actions: decided for the `system` principal only (see HOST_ACTIONS). */
const HOST_ACTION_NAMES = [
  'system.init',
  'system.start',
  'system.stop',
  'tenant.create',
  'grant.rotate',
  'override.key',
  'trust.bootstrap',
  'policy.reload',
  'plan.expire',
  'tool.reload',
  'principal.recover-admin',
  // host tools that change state outside the store: audited like the rest
  'policy.upgrade',
  'audit.checkpoint',
  'store.restore',
  // ---- replicas: countersign.yaml and playbooks re-read on SIGHUP ----
  'config.reload',
  'playbook.reload',
  // ---- previews (issue 17) ----
  'plan.preview',
] as const;

/** Every action the pipeline decides (src/operations). Reads are decided by policy too (invariant 1). */
export const ACTIONS = [
  'plan.propose',
  'plan.read',
  'plan.approve',
  'plan.reject',
  'plan.cancel',
  'plan.execute',
  'execution.read',
  'audit.read',
  'principal.create',
  'principal.read',
  'principal.disable',
  'key.create',
  'key.revoke',
  'grant.revoke',
  'override.issue',
  'override.use',
  'override.revoke',
  'trust.change',
  'environment.freeze',
  // alerts: a webhook source's delivery, recorded and deduplicated (src/operations/alerts.ts)
  'alert.receive',
  'alert.plan',
  ...HOST_ACTION_NAMES,
  // ---- chat (issue 14) ----
  'chat.link',
] as const;
export type PrivilegedAction = (typeof ACTIONS)[number];

/** Actions only the host operator takes, through the `system` principal, never over the network. */
export const HOST_ACTIONS: readonly PrivilegedAction[] = HOST_ACTION_NAMES;

export type ResourceType = 'Plan' | 'Execution' | 'Tenant' | 'Principal' | 'Environment' | 'Override';

/** The resource an action targets, with attributes taken from stored records. */
export interface ResourceRef {
  type: ResourceType;
  id: string;
  tenantId: string;
  environment?: string;
  risk?: Risk;
  source?: string;
  /** Principal id of the plan's proposer (for separation of duties). */
  proposerId?: string;
}

export interface AuthzRequest {
  principal: Principal;
  action: PrivilegedAction;
  resource: ResourceRef;
  /** Cedar context: the interface the request came through (`chat`, `api`, …), for actions whose schema declares it. */
  context?: { channel?: string };
}

export interface Denial {
  allow: false;
  code: 'POLICY_DENIED' | 'POLICY_UNAVAILABLE';
  reasons: string[];
  /**
   * Ids of the forbid policies (or `code:` rules) that decided a POLICY_DENIED (empty or absent
   * when no permit matched), so a caller can map e.g. `separation-of-duties` to SELF_APPROVAL.
   */
  policies?: string[];
}

export type Decision = { allow: true; policies: string[] } | Denial;

/** Pure decision code: no I/O. Any thrown error is treated as deny by the caller. */
export interface Authorizer {
  authorize(request: AuthzRequest): Decision;
}
