import type { ExecutionView } from '../executions/view.ts';
import type { PlanView } from '../plans/view.ts';

export const TERMINAL_EXECUTION = new Set(['succeeded', 'failed', 'rolled_back', 'needs_attention']);
const CLOSED_PLAN = new Set(['rejected', 'expired', 'cancelled']);

/** What an agent sees of a plan: its state, who approved, what is still required, what to do next. */
export interface PlanSummary {
  id: string;
  status: string;
  statusReason: string | null;
  environment: string;
  intent: string;
  risk: string;
  riskReasons: string[];
  source: string;
  proposer: string;
  hash: string;
  createdAt: string;
  expiresAt: string | null;
  steps: { tool: string; action: string; input: Record<string, unknown>; argv: string[] | null }[];
  rollback: { tool: string; action: string; input: Record<string, unknown>; argv: string[] | null }[];
  approvals: { reviewer: string; decision: string; comment: string; createdAt: string }[];
  required: { group: string; count: number; have: number }[];
  /** e.g. "needs 1 more approval from group approvers"; empty once nothing is missing. */
  missing: string[];
  next: string;
}

/** What an agent sees of an execution: status and each step's redacted output. */
export interface ExecutionSummary {
  id: string;
  planId: string;
  environment: string;
  status: string;
  reason: string | null;
  finished: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  steps: {
    phase: string;
    index: number;
    tool: string;
    action: string;
    status: string;
    exitCode: number | null;
    stdout: string;
    stderr: string;
    truncated: boolean;
    error: string | null;
  }[];
  next: string;
}

function missingOf(p: PlanView): string[] {
  return p.tally?.missing ?? p.approval.require.map((r) => `needs ${r.count} approval${r.count > 1 ? 's' : ''} from group ${r.group}`);
}

/** The next call an agent should make, in words it can act on. */
export function planNext(p: PlanView): string {
  switch (p.status) {
    case 'pending_approval': {
      const missing = missingOf(p);
      const what = missing.length > 0 ? missing.join('; ') : 'is waiting for its approvals';
      return `plan ${p.id} ${what}; a human reviewer must approve it (an agent cannot). Call wait_for_decision with planId ${p.id}.`;
    }
    case 'approved':
      return `plan ${p.id} is approved; call execute_plan with planId ${p.id}.`;
    case 'executing':
      return `plan ${p.id} is running; call execute_plan with planId ${p.id} to get its execution (a plan runs once), then get_execution with wait.`;
    default:
      if (CLOSED_PLAN.has(p.status))
        return `plan ${p.id} is ${p.status}${p.statusReason ? ` (${p.statusReason})` : ''} and will not run; propose a new plan if the work is still needed.`;
      return `plan ${p.id} finished: ${p.status}${p.statusReason ? ` (${p.statusReason})` : ''}.`;
  }
}

const step = (s: PlanView['steps'][number]) => ({ tool: s.tool, action: s.action, input: s.input, argv: s.argv ?? null });

export function planSummary(p: PlanView): PlanSummary {
  return {
    id: p.id,
    status: p.status,
    statusReason: p.statusReason,
    environment: p.environment,
    intent: p.intent,
    risk: p.risk,
    riskReasons: p.riskReasons,
    source: p.source,
    proposer: p.proposer,
    hash: p.hash,
    createdAt: p.createdAt,
    expiresAt: p.expiresAt,
    steps: p.steps.map(step),
    rollback: p.rollback.map(step),
    approvals: (p.approvals ?? []).map((a) => ({ reviewer: a.reviewer, decision: a.decision, comment: a.comment, createdAt: a.createdAt })),
    required: p.tally?.requirements ?? p.approval.require.map((r) => ({ group: r.group, count: r.count, have: 0 })),
    missing: p.status === 'pending_approval' ? missingOf(p) : [],
    next: planNext(p),
  };
}

export function executionNext(e: ExecutionView): string {
  if (!TERMINAL_EXECUTION.has(e.status))
    return `execution ${e.id} is ${e.status}; call get_execution with executionId ${e.id} and wait to follow it.`;
  if (e.status === 'succeeded') return `execution ${e.id} succeeded; the steps' output is above.`;
  if (e.status === 'needs_attention')
    return `execution ${e.id} needs attention from a human operator${e.reason ? ` (${e.reason})` : ''}; do not retry it yourself.`;
  return `execution ${e.id} ${e.status}${e.reason ? ` (${e.reason})` : ''}; read the failing step's stderr, and propose a new plan if it should be tried again.`;
}

export function executionSummary(e: ExecutionView): ExecutionSummary {
  return {
    id: e.id,
    planId: e.planId,
    environment: e.environment,
    status: e.status,
    reason: e.reason,
    finished: TERMINAL_EXECUTION.has(e.status),
    createdAt: e.createdAt,
    startedAt: e.startedAt,
    finishedAt: e.finishedAt,
    steps: e.steps.map((s) => ({
      phase: s.phase,
      index: s.index,
      tool: s.tool,
      action: s.action,
      status: s.status,
      exitCode: s.exitCode,
      stdout: s.stdout,
      stderr: s.stderr,
      truncated: s.truncated,
      error: s.error,
    })),
    next: executionNext(e),
  };
}
