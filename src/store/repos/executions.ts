import type { Kysely } from 'kysely';
import type { KnownSecrets } from '../../secrets/index.ts';
import type { Database } from '../schema.ts';

/** The free-text columns of a step: what a tool or an error message put there. */
const STEP_TEXT = ['stdout', 'stderr', 'error'] as const;

export const EXECUTION_STATUSES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'rolled_back',
  'needs_attention',
  // previews (issue 17): stopped before any step ran because a preview's state moved; re-armed by the next grant.
  'stale',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export const ACTIVE_EXECUTION: readonly ExecutionStatus[] = ['queued', 'running'];
/** The statuses an execution never leaves. */
export const TERMINAL_EXECUTION_STATUSES: readonly ExecutionStatus[] = ['succeeded', 'failed', 'rolled_back', 'needs_attention', 'stale'];

export interface ExecutionRecord {
  id: string;
  tenantId: string;
  planId: string;
  environment: string;
  grantJti: string;
  grantToken: string;
  status: ExecutionStatus;
  reason: string | null;
  requestedBy: string;
  overrideId: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  attempt: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface StepRecord {
  executionId: string;
  phase: 'main' | 'rollback';
  idx: number;
  tool: string;
  action: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';
  attempts: number;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface EventRecord {
  seq: number;
  ts: string;
  type: string;
  data: Record<string, unknown>;
}

export function toExecution(r: Database['executions']): ExecutionRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    planId: r.plan_id,
    environment: r.environment,
    grantJti: r.grant_jti,
    grantToken: r.grant_token,
    status: r.status as ExecutionStatus,
    reason: r.reason,
    requestedBy: r.requested_by,
    overrideId: r.override_id,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
    attempt: Number(r.attempt),
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

function toStep(r: Database['execution_steps']): StepRecord {
  return {
    executionId: r.execution_id,
    phase: r.phase as StepRecord['phase'],
    idx: Number(r.idx),
    tool: r.tool,
    action: r.action,
    status: r.status as StepRecord['status'],
    attempts: Number(r.attempts),
    exitCode: r.exit_code === null ? null : Number(r.exit_code),
    stdout: r.stdout,
    stderr: r.stderr,
    truncated: Number(r.truncated) === 1,
    error: r.error,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** Executions, their steps and events, of one tenant. */
/** A step's columns before it ever ran: a new execution's steps, and a re-armed one's. */
const UNRUN_STEP = {
  attempts: 0,
  exit_code: null,
  stdout: '',
  stderr: '',
  truncated: 0,
  error: null,
  started_at: null,
  finished_at: null,
} as const;

export class ExecutionsRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly tenantId: string,
    /** Step output, errors and events are redacted of known secrets here, whoever writes them (invariant 12). */
    private readonly redaction: KnownSecrets,
  ) {}

  /** Inserts unless the plan already has an execution; returns whether this call created it. */
  async insertIfAbsent(e: ExecutionRecord, steps: Omit<StepRecord, 'executionId'>[]): Promise<boolean> {
    const res = await this.db
      .insertInto('executions')
      .values({
        id: e.id,
        tenant_id: this.tenantId,
        plan_id: e.planId,
        environment: e.environment,
        grant_jti: e.grantJti,
        grant_token: e.grantToken,
        status: e.status,
        reason: e.reason,
        requested_by: e.requestedBy,
        override_id: e.overrideId,
        lease_owner: null,
        lease_expires_at: null,
        attempt: 0,
        created_at: e.createdAt,
        started_at: null,
        finished_at: null,
      })
      .onConflict((oc) => oc.column('plan_id').doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0) !== 1) return false;
    if (steps.length > 0) {
      await this.db
        .insertInto('execution_steps')
        .values(
          steps.map((s) => ({
            execution_id: e.id,
            tenant_id: this.tenantId,
            phase: s.phase,
            idx: s.idx,
            tool: s.tool,
            action: s.action,
            status: s.status,
            ...UNRUN_STEP,
          })),
        )
        .execute();
    }
    return true;
  }

  async get(id: string): Promise<ExecutionRecord | undefined> {
    const r = await this.db
      .selectFrom('executions')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? toExecution(r) : undefined;
  }

  async forPlan(planId: string): Promise<ExecutionRecord | undefined> {
    const r = await this.db
      .selectFrom('executions')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('plan_id', '=', planId)
      .executeTakeFirst();
    return r ? toExecution(r) : undefined;
  }

  async list(limit: number, status?: ExecutionStatus): Promise<ExecutionRecord[]> {
    let q = this.db.selectFrom('executions').selectAll().where('tenant_id', '=', this.tenantId);
    if (status) q = q.where('status', '=', status);
    return (await q.orderBy('created_at', 'desc').limit(limit).execute()).map(toExecution);
  }

  async steps(executionId: string): Promise<StepRecord[]> {
    const rows = await this.db
      .selectFrom('execution_steps')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('execution_id', '=', executionId)
      .orderBy('phase')
      .orderBy('idx')
      .execute();
    return rows.map(toStep);
  }

  #redactStepText(patch: Partial<Database['execution_steps']>): Partial<Database['execution_steps']> {
    const out = { ...patch };
    for (const column of STEP_TEXT) {
      const text = out[column];
      if (typeof text === 'string') out[column] = this.redaction.redact(text);
    }
    return out;
  }

  async updateStep(executionId: string, phase: string, idx: number, patch: Partial<Database['execution_steps']>): Promise<void> {
    await this.db
      .updateTable('execution_steps')
      .set(this.#redactStepText(patch))
      .where('tenant_id', '=', this.tenantId)
      .where('execution_id', '=', executionId)
      .where('phase', '=', phase)
      .where('idx', '=', idx)
      .execute();
  }

  /** Updates an execution only while `owner` holds its lease: a worker that lost it changes nothing. */
  async updateOwned(id: string, owner: string, patch: Partial<Database['executions']>): Promise<boolean> {
    const res = await this.db
      .updateTable('executions')
      .set(patch)
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  // ---- previews (issue 17) ----
  /**
   * A `stale` execution (stopped before any of its steps ran) takes the next grant of its re-reviewed
   * plan: the plan keeps its one execution (invariant 10: nothing of it ever ran), queued again with
   * the new grant and every step pending. Compare-and-set on `stale`.
   */
  async rearm(id: string, grant: { jti: string; token: string }, requestedBy: string): Promise<boolean> {
    const res = await this.db
      .updateTable('executions')
      .set({
        status: 'queued',
        reason: null,
        grant_jti: grant.jti,
        grant_token: grant.token,
        requested_by: requestedBy,
        lease_owner: null,
        lease_expires_at: null,
        attempt: 0,
        started_at: null,
        finished_at: null,
      })
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', id)
      .where('status', '=', 'stale')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    await this.db
      .updateTable('execution_steps')
      .set({ status: 'pending', ...UNRUN_STEP })
      .where('tenant_id', '=', this.tenantId)
      .where('execution_id', '=', id)
      .execute();
    return true;
  }

  async appendEvent(executionId: string, ts: string, type: string, data: Record<string, unknown>): Promise<number> {
    // One atomic increment on the execution row: its row lock orders concurrent appenders.
    const row = await this.db
      .updateTable('executions')
      .set((eb) => ({ event_seq: eb(eb.fn.coalesce('event_seq', eb.val(0)), '+', 1) }))
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', executionId)
      .returning('event_seq')
      .executeTakeFirst();
    if (!row) throw new Error(`execution ${executionId} not found for event ${type}`);
    const seq = Number(row.event_seq);
    await this.db
      .insertInto('execution_events')
      .values({
        execution_id: executionId,
        tenant_id: this.tenantId,
        seq,
        ts,
        type,
        data: JSON.stringify(this.redaction.redactValue(data)),
      })
      .execute();
    return seq;
  }

  /**
   * Confirms inside the caller's transaction that `owner` still holds the execution's lease
   * (and takes the row lock on PostgreSQL), so a worker that lost its lease writes nothing.
   */
  async holdsLease(id: string, owner: string): Promise<boolean> {
    const res = await this.db
      .updateTable('executions')
      .set({ lease_owner: owner })
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async eventsAfter(executionId: string, afterSeq: number, limit = 500): Promise<EventRecord[]> {
    const rows = await this.db
      .selectFrom('execution_events')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('execution_id', '=', executionId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ seq: Number(r.seq), ts: r.ts, type: r.type, data: JSON.parse(r.data) as Record<string, unknown> }));
  }
}
