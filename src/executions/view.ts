import { z } from 'zod';
import { EXECUTION_STATUSES, type ExecutionRecord, type StepRecord } from '../store/index.ts';

/** One step of an execution, with its redacted output. */
export const ExecutionStepViewSchema = z.object({
  phase: z.enum(['main', 'rollback']),
  index: z.number().int(),
  tool: z.string(),
  action: z.string(),
  status: z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped']),
  attempts: z.number().int(),
  exitCode: z.number().int().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.boolean(),
  error: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});

/** What the API, CLI and MCP show of an execution. */
export const ExecutionViewSchema = z.object({
  id: z.string(),
  planId: z.string(),
  environment: z.string(),
  status: z.enum(EXECUTION_STATUSES),
  reason: z.string().nullable(),
  requestedBy: z.string(),
  /** The break-glass override it ran under, if any. */
  override: z.string().nullable(),
  /** Only the grant's id: the token itself is a bearer capability and stays server-side. */
  grant: z.object({ jti: z.string() }),
  attempt: z.number().int(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  steps: z.array(ExecutionStepViewSchema),
});
export type ExecutionView = z.infer<typeof ExecutionViewSchema>;

export const ExecutionListSchema = z.object({ executions: z.array(ExecutionViewSchema) });
export type ExecutionList = z.infer<typeof ExecutionListSchema>;

/** A grant minted for two-phase execution: the token is shown to its requester once. */
export const IssuedGrantSchema = z.object({ grant: z.string(), jti: z.string(), expiresAt: z.string() });
export type IssuedGrant = z.infer<typeof IssuedGrantSchema>;

export const RevokedGrantSchema = z.object({ jti: z.string(), revokedAt: z.string() });
export type RevokedGrant = z.infer<typeof RevokedGrantSchema>;

/** A kill switch's state after a freeze or unfreeze; scope `*` is the whole tenant. */
export const FreezeStateSchema = z.object({ scope: z.string(), frozen: z.boolean() });
export type FreezeState = z.infer<typeof FreezeStateSchema>;

export const FreezeListSchema = z.object({
  freezes: z.array(z.object({ scope: z.string(), reason: z.string(), actor: z.string(), createdAt: z.string() })),
});
export type FreezeList = z.infer<typeof FreezeListSchema>;

/** One entry of an execution's event log; `data` depends on the event type. */
export const ExecutionEventSchema = z.object({
  seq: z.number().int(),
  ts: z.string(),
  type: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type ExecutionEvent = z.infer<typeof ExecutionEventSchema>;

/** Events after a sequence number, with the execution's status (the JSON form of the event stream). */
export const EventsPageSchema = z.object({ status: z.enum(EXECUTION_STATUSES), events: z.array(ExecutionEventSchema) });
export type EventsPage = z.infer<typeof EventsPageSchema>;

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
