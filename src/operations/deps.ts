import type { ApprovalRules } from '../approvals/index.ts';
import type { TrustConfig } from '../config/index.ts';
import type { GrantKeyring } from '../grants/index.ts';
import type { OverrideAuthority } from '../overrides/index.ts';
import type { ToolRegistry } from '../tools/index.ts';
import type { ToolTrustGate } from '../trust/index.ts';
import type { PipelineDeps } from './pipeline.ts';

/** What the operations of the API process need, built once by the server context. */
export interface OperationDeps extends PipelineDeps {
  tools: ToolRegistry;
  approvalRules: ApprovalRules;
  pendingTtlHours: number;
  /** Verifies each step's tool against the trust store as it is now (invariant 13). */
  toolTrust: ToolTrustGate;
  grantKeys: GrantKeyring;
  grantTtlSeconds: number;
  overrides: OverrideAuthority;
  trust: TrustConfig;
  // ---- chat (issue 14) ----
  /** Environments whose plans need step-up to approve (high and critical risk always do). */
  stepUpEnvironments?: readonly string[];
  chatLinkTtlMinutes?: number;
  notificationHealth?: () => Promise<import('../notifications/index.ts').ChannelHealth[]>;
}
