import type { ExecutionRecord, StepRecord } from '../store/index.ts';

export interface ExecutionView {
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
  steps: {
    phase: string;
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
  }[];
}

/** The grant token itself is never returned: only its id (a bearer capability stays server-side). */
export function toExecutionView(e: ExecutionRecord, steps: readonly StepRecord[]): ExecutionView {
  return {
    id: e.id,
    planId: e.planId,
    environment: e.environment,
    status: e.status,
    reason: e.reason,
    requestedBy: e.requestedBy,
    override: e.overrideId,
    grant: { jti: e.grantJti },
    attempt: e.attempt,
    createdAt: e.createdAt,
    startedAt: e.startedAt,
    finishedAt: e.finishedAt,
    steps: steps.map((s) => ({
      phase: s.phase,
      index: s.idx,
      tool: s.tool,
      action: s.action,
      status: s.status,
      attempts: s.attempts,
      exitCode: s.exitCode,
      stdout: s.stdout,
      stderr: s.stderr,
      truncated: s.truncated,
      error: s.error,
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
    })),
  };
}
