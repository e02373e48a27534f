import type { ApprovalRules, StepUpSettings } from '../approvals/index.ts';
import type { WitnessQuorum } from '../audit/index.ts';
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
  /**
   * Grants of plans at these risks wait until the plan's approvals are in a witnessed audit
   * checkpoint (issue 17); absent: no plan waits.
   */
  witnessHold?: WitnessHold;
  /** Which approvals need a WebAuthn step-up, on every channel (only the console can give one). */
  stepUp: StepUpSettings;
  // ---- chat (issue 14) ----
  chatLinkTtlMinutes?: number;
  notificationHealth?: () => Promise<import('../notifications/index.ts').ChannelHealth[]>;
}

export interface WitnessHold {
  risks: readonly string[];
  /** What counts as witnessed: the log's key and the trusted witnesses' keys, from files and config. */
  quorum: WitnessQuorum;
  /** Asks the checkpoint publisher for a round now (it is running one already, or will). */
  kick: () => void;
}
