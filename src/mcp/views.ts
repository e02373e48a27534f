import { z } from 'zod';
import { ExecutionStepViewSchema, type ExecutionView, ExecutionViewSchema } from '../executions/index.ts';
import { type PlanView, PlanViewSchema } from '../plans/index.ts';

export const TERMINAL_EXECUTION = new Set(['succeeded', 'failed', 'rolled_back', 'needs_attention', 'stale']);
const CLOSED_PLAN = new Set(['rejected', 'expired', 'cancelled']);

const SummaryStepSchema = z.object({
  tool: z.string(),
  action: z.string(),
  input: z.record(z.string(), z.unknown()),
  argv: z.array(z.string()).nullable(),
});

/** What an agent sees of a plan: its state, who approved, what is still required, what to do next. */
export const PlanSummarySchema = PlanViewSchema.pick({
  id: true,
  status: true,
  statusReason: true,
  environment: true,
  intent: true,
  risk: true,
  riskReasons: true,
  source: true,
  proposer: true,
  hash: true,
  createdAt: true,
  expiresAt: true,
}).extend({
  steps: z.array(SummaryStepSchema),
  rollback: z.array(SummaryStepSchema),
  approvals: z.array(z.object({ reviewer: z.string(), decision: z.string(), comment: z.string(), createdAt: z.string() })),
  required: z.array(z.object({ group: z.string(), count: z.number().int(), have: z.number().int() })),
  /** e.g. "needs 1 more approval from group approvers"; empty once nothing is missing. */
  missing: z.array(z.string()),
  next: z.string(),
  // ---- previews (issue 17) ----
  /** What each step's read-only preview showed before review (absent while previewing and without previews). */
  previews: PlanViewSchema.shape.previews,
});
export type PlanSummary = z.infer<typeof PlanSummarySchema>;

/** What an agent sees of an execution: status and each step's redacted output. */
export const ExecutionSummarySchema = ExecutionViewSchema.pick({
  id: true,
  planId: true,
  environment: true,
  status: true,
  reason: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
}).extend({
  finished: z.boolean(),
  steps: z.array(
    ExecutionStepViewSchema.pick({
      phase: true,
      index: true,
      tool: true,
      action: true,
      status: true,
      exitCode: true,
      stdout: true,
      stderr: true,
      truncated: true,
      error: true,
    }),
  ),
  next: z.string(),
});
export type ExecutionSummary = z.infer<typeof ExecutionSummarySchema>;

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
    // previews (issue 17)
    case 'previewing':
      return `plan ${p.id} is waiting for its steps' previews (the executor runs them); nobody can review it yet. Call wait_for_decision with planId ${p.id}.`;
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
    ...(p.previews ? { previews: p.previews } : {}),
  };
}

export function executionNext(e: ExecutionView): string {
  if (!TERMINAL_EXECUTION.has(e.status))
    return `execution ${e.id} is ${e.status}; call get_execution with executionId ${e.id} and wait to follow it.`;
  if (e.status === 'succeeded') return `execution ${e.id} succeeded; the steps' output is above.`;
  // previews (issue 17)
  if (e.status === 'stale')
    return `execution ${e.id} did not run: what a step's preview reads changed since review${e.reason ? ` (${e.reason})` : ''}; the plan goes back for review with fresh previews. Call wait_for_decision with planId ${e.planId}, then execute_plan again.`;
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
