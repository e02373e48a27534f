// The shapes the console reads, as the server's operations return them (src/plans/view.ts,
// src/operations/console.ts, src/executions/view.ts). The UI is built separately, so they are
// restated here for the browser; the browser tests check the pages against the real server.

export interface Session {
  name: string;
  id: string;
  kind: string;
  groups: string[];
  authMethod: string;
  csrfToken: string;
  expiresAt: string;
}

export interface Step {
  tool: string;
  action: string;
  input: Record<string, unknown>;
  toolDigest: string;
  argv?: string[] | null;
  argvNote?: string;
}

export interface Finding {
  rule: string;
  severity: 'info' | 'warning' | 'high' | 'deny';
  message: string;
  line: number;
  snippet: string;
  phase: 'steps' | 'rollback';
  step: number;
}

// ---- previews (issue 17) ----
export interface Preview {
  step: number;
  tool: string;
  action: string;
  status: 'ok' | 'failed' | 'timed_out';
  output: string;
  errors: string;
  truncated: boolean;
  exitCode: number | null;
  fingerprint: string;
  fingerprintSource: 'file' | 'output';
  error: string | null;
  /** The output reads as a unified diff. */
  diff: boolean;
}

export interface Tally {
  satisfied: boolean;
  rejectedBy: string | null;
  requirements: { group: string; count: number; have: number }[];
  missing: string[];
}

export interface Plan {
  id: string;
  hash: string;
  status: string;
  statusReason: string | null;
  risk: 'low' | 'medium' | 'high' | 'critical';
  riskReasons: string[];
  environment: string;
  intent: string;
  source: string;
  proposer: string;
  proposerName?: string;
  steps: Step[];
  rollback: Step[];
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
  approval: { rules: string[]; autoApproved: boolean; require: { group: string; count: number }[]; ttlHours: number };
  unsignedTools?: boolean;
  previews?: Preview[];
  approvals?: {
    reviewer: string;
    reviewerName?: string;
    decision: string;
    planHash: string;
    comment: string;
    channel: string;
    createdAt: string;
  }[];
  tally?: Tally;
  findings?: Finding[];
}

export interface PlanPage {
  plan: Plan;
  tools: { name: string; digest: string | null; version: string | null; signers: string[]; matches: boolean }[];
  admission: { seq: number; ts: string; actor: string; channel: string | null; policies: string[] } | null;
  eligibility: { allowed: boolean; reasons: string[] };
  stepUpRequired: boolean;
  /** Single-use: one review of exactly this plan hash (present only when the viewer may review). */
  reviewToken?: string;
}

export interface ExecutionStep {
  phase: 'main' | 'rollback';
  index: number;
  tool: string;
  action: string;
  status: string;
  attempts: number;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Execution {
  id: string;
  planId: string;
  environment: string;
  status: string;
  reason: string | null;
  requestedBy: string;
  override: string | null;
  grant: { jti: string };
  attempt: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  steps: ExecutionStep[];
}

export interface AuditEntry {
  seq: number;
  ts: string;
  code: string;
  actor: string;
  action: string;
  outcome: string;
  resource: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}
