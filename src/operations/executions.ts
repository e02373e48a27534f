import { z } from 'zod';
import { witnessedSize } from '../audit/index.ts';
import { CountersignError } from '../errors/index.ts';
import { type ExecutionView, TERMINAL_EXECUTION_STATUSES, toExecutionView } from '../executions/index.ts';
import {
  consumeGrant,
  issueGrant,
  type MintedGrant,
  mintGrantFor,
  recordGrant,
  revokeGrant,
  setKillSwitch,
  verifyGrant,
  verifyPresentedGrant,
} from '../grants/index.ts';
import { assertRunnable, type PlanDocument, transition } from '../plans/index.ts';
import type { Principal, ResourceRef } from '../policy/index.ts';
import type { EventRecord, ExecutionRecord, FreezeRecord, PlanRecord, TenantScope } from '../store/index.ts';
import type { OperationDeps, WitnessHold } from './deps.ts';
import { loadPlan, PlanIdSchema, planResource, tenantResource } from './plans.ts';
import type { AnyOperation, Effect, Operation, OperationContext } from './types.ts';

export const ExecuteBodySchema = z
  .object({
    /** A grant minted earlier by POST /v1/plans/:id/grants; omitted, the server mints and consumes one now. */
    grant: z.string().min(1).max(8192).optional(),
    /**
     * A break-glass override (its id, or the signed document as JSON): runs the plan without the
     * normal approvals, within the override's scope. Decided as `override.use`.
     */
    override: z.string().min(1).max(16384).optional(),
  })
  .strict()
  .refine((b) => !(b.grant && b.override), { message: 'send a grant or an override, not both', path: ['override'] });

export const FreezeBodySchema = z
  .object({ environment: z.string().min(1).max(64).optional(), reason: z.string().min(1).max(2000) })
  .strict();
const UnfreezeBodySchema = FreezeBodySchema.partial({ reason: true });

export function executionResource(e: ExecutionRecord): ResourceRef {
  return { type: 'Execution', id: e.id, tenantId: e.tenantId, environment: e.environment };
}

export async function loadExecution(tx: TenantScope, id: string): Promise<ExecutionRecord> {
  const e = await tx.executions.get(id);
  if (!e) throw new CountersignError('NOT_FOUND', `execution ${id} not found`);
  return e;
}

export function toolsOf(doc: PlanDocument): string[] {
  return [...doc.steps, ...doc.rollback].map((s) => s.tool);
}

export function grantScopeOf(doc: PlanDocument): { steps: number[]; rollback: number[] } {
  return { steps: doc.steps.map((_, i) => i), rollback: doc.rollback.map((_, i) => i) };
}

export function newExecutionRecord(
  id: string,
  principal: Principal,
  plan: PlanRecord,
  grant: MintedGrant,
  at: string,
  overrideId: string | null,
): ExecutionRecord {
  return {
    id,
    tenantId: principal.tenantId,
    planId: plan.id,
    environment: plan.environment,
    grantJti: grant.claims.jti,
    grantToken: grant.token,
    status: 'queued',
    reason: null,
    requestedBy: principal.id,
    overrideId,
    leaseOwner: null,
    leaseExpiresAt: null,
    attempt: 0,
    createdAt: at,
    startedAt: null,
    finishedAt: null,
  };
}

export function executionSteps(doc: PlanDocument) {
  return [
    ...doc.steps.map((s, idx) => ({ phase: 'main' as const, idx, tool: s.tool, action: s.action })),
    ...doc.rollback.map((s, idx) => ({ phase: 'rollback' as const, idx, tool: s.tool, action: s.action })),
  ].map((s) => ({
    ...s,
    status: 'pending' as const,
    attempts: 0,
    exitCode: null,
    stdout: '',
    stderr: '',
    truncated: false,
    error: null,
    startedAt: null,
    finishedAt: null,
  }));
}

export interface ExecuteResult {
  execution: ExecutionView;
  created: boolean;
}

/** What an execute request found: the plan, and the plan's execution when it already has one. */
interface ExecuteLoad {
  plan: PlanRecord;
  existing: ExecutionRecord | undefined;
  doc: PlanDocument | null;
  unsignedTools: string[];
  /** A grant the caller presented, verified by a guard (a forged one is a refusal). */
  presented: MintedGrant | null;
  /** previews (issue 17): the plan's stale execution, queued again under this request's grant. */
  rearm?: ExecutionRecord;
}

const ExecuteInput = z.object({ planId: PlanIdSchema, grant: z.string().min(1).max(8192).optional() }).strict();
type ExecuteInputT = z.infer<typeof ExecuteInput>;

/** A repeated request gets the plan's one execution back (invariant 10), with the same grant or none. */
export async function existingExecution(
  deps: OperationDeps,
  tx: TenantScope,
  e: ExecutionRecord,
  presented: string | undefined,
  now: Date,
): Promise<Effect<ExecuteResult>> {
  if (presented) {
    const claims = await verifyGrant(presented, deps.grantKeys, now).catch(() => null);
    if (!claims || claims.jti !== e.grantJti) {
      throw new CountersignError('GRANT_REPLAYED', `plan ${e.planId} already has execution ${e.id}; a plan runs once`);
    }
  }
  return {
    result: { execution: toExecutionView(e, await tx.executions.steps(e.id)), created: false },
    resource: `execution:${e.id}`,
    details: { existing: true },
  };
}

/**
 * The witness hold (issue 17): a grant for a plan at a held risk is issued only once the audit
 * entries that decided it (its proposal and every approval) are in a checkpoint that the log
 * signed and a quorum of trusted witnesses cosigned. Then no one who rewrites the database
 * afterwards can make the log say those approvals did not happen, or happened otherwise,
 * without the witnesses' copies showing two histories. Until then: WITNESS_PENDING, retryable.
 */
async function assertWitnessed(tx: TenantScope, plan: PlanRecord, hold: WitnessHold | undefined): Promise<void> {
  if (!hold?.risks.includes(plan.risk)) return;
  const resource = `plan:${plan.id}`;
  const seqs = await Promise.all(
    (['plan.propose', 'plan.approve'] as const).map((action) => tx.witnessed.lastEntrySeq(tx.tenantId, resource, action, 'allowed')),
  );
  const needed = Math.max(...seqs.map((s) => s ?? 0));
  if (needed === 0) throw new CountersignError('WITNESS_PENDING', `plan ${plan.id} has no audited decision to witness; refusing`);
  const witnessed = witnessedSize(
    (await tx.witnessed.latest()).map((r) => r.note),
    hold.quorum,
  );
  if (witnessed >= needed) return;
  hold.kick();
  throw new CountersignError(
    'WITNESS_PENDING',
    `plan ${plan.id} (${plan.risk} risk) runs once its approvals (audit entry ${needed}) are in a witnessed checkpoint; the witnesses have cosigned ${witnessed} entries so far. Retry shortly.`,
    { details: { needed, witnessed, retryAfterSeconds: 2 } },
  );
}

function execute(deps: OperationDeps): Operation<ExecuteInputT, ExecuteLoad, ExecuteResult> {
  return {
    name: 'plan.execute',
    action: 'plan.execute',
    kind: 'mutation',
    summary: 'Run an approved plan once: consume a grant and create its one execution.',
    input: ExecuteInput,
    load: async (tx, { planId }) => {
      const plan = await loadPlan(tx, planId);
      let existing = await tx.executions.forPlan(planId);
      // A concurrent request may have created the execution after our first look, committing
      // before the plan was read (PostgreSQL, read committed): it gets that execution.
      if (!existing && plan.status !== 'approved') existing = await tx.executions.forPlan(planId);
      // previews (issue 17): a stale execution (none of its steps ran) takes the re-reviewed plan's
      // grant; until the plan is approved again, the request is judged (and refused) like a first one.
      if (existing?.status === 'stale')
        return { plan, existing: undefined, rearm: existing, doc: null, unsignedTools: [], presented: null };
      return { plan, existing, doc: null, unsignedTools: [], presented: null };
    },
    resource: (l) => planResource(l.plan),
    guards: [
      async (tx, l, req, ctx) => {
        if (l.existing) return;
        l.doc = await assertRunnable(tx, l.plan, { tools: deps.tools, keys: deps.grantKeys }, ctx.now, 'approvals');
        l.unsignedTools = await deps.toolTrust.assertUsable(tx.installationTrust, l.plan.environment, toolsOf(l.doc));
        await assertWitnessed(tx, l.plan, deps.witnessHold);
        if (req.grant) l.presented = await verifyPresentedGrant(tx, deps.grantKeys, l.plan, req.grant, ctx.now);
      },
    ],
    act: async (tx, l, req, ctx) => {
      if (l.existing || !l.doc) return existingExecution(deps, tx, l.existing as ExecutionRecord, req.grant, ctx.now);
      const { plan, doc } = l;
      // A grant minted here is recorded only once this request has created the execution.
      const grant =
        l.presented ?? (await mintGrantFor(deps.grantKeys, plan, grantScopeOf(doc), { now: ctx.now, ttlSeconds: deps.grantTtlSeconds }));
      const id = l.rearm?.id ?? deps.runtime.newId('exe');
      const at = ctx.now.toISOString();
      const record = newExecutionRecord(id, ctx.principal, plan, grant, at, null);
      if (l.rearm) {
        if (!(await tx.executions.rearm(id, { jti: grant.claims.jti, token: grant.token }, ctx.principal.id)))
          throw new CountersignError('CONFLICT', 'the execution changed concurrently; retry');
      } else if (!(await tx.executions.insertIfAbsent(record, executionSteps(doc)))) {
        const winner = await tx.executions.forPlan(plan.id);
        if (!winner) throw new CountersignError('CONFLICT', 'the execution changed concurrently; retry');
        return existingExecution(deps, tx, winner, undefined, ctx.now);
      }
      if (!l.presented) await recordGrant(tx, grant);
      await consumeGrant(tx, grant.claims.jti, id, ctx.now);
      await transition(tx, plan, 'executing', `execution ${id}`, ctx.now);
      await tx.executions.appendEvent(id, at, 'execution.queued', { by: ctx.principal.id });
      return {
        result: { execution: toExecutionView(record, await tx.executions.steps(id)), created: true },
        resource: `execution:${id}`,
        details: {
          plan: plan.id,
          planHash: plan.hash,
          jti: grant.claims.jti,
          kid: grant.claims.kid,
          presentedGrant: Boolean(req.grant),
          ...(l.unsignedTools.length > 0 ? { unsignedTools: l.unsignedTools, warning: 'UNSIGNED tool manifests (developmentMode)' } : {}),
        },
      };
    },
  };
}

const PlanRef = z.object({ planId: PlanIdSchema }).strict();
const ExecutionRef = z.object({ executionId: z.string().min(1).max(128) }).strict();
const ListExecutions = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();
const EventsInput = ExecutionRef.extend({ after: z.number().int().min(0).default(0) }).strict();
const RevokeInput = ExecutionRef.extend({ reason: z.string().min(1).max(2000) }).strict();

function freezeResource(ctx: OperationContext, environment: string | undefined): ResourceRef {
  return environment ? { type: 'Environment', id: environment, tenantId: ctx.principal.tenantId, environment } : tenantResource(ctx);
}

function killSwitch(on: boolean): Operation<{ environment?: string; reason?: string }, null, { scope: string; frozen: boolean }> {
  return {
    name: on ? 'environment.freeze' : 'environment.unfreeze',
    action: 'environment.freeze',
    kind: 'mutation',
    summary: on ? 'Turn a kill switch on: nothing in the tenant or environment starts or continues a step.' : 'Lift a kill switch.',
    input: on ? FreezeBodySchema : UnfreezeBodySchema,
    load: async (tx, req) => {
      if (req.environment && !(await tx.directory.getEnvironment(req.environment))) {
        throw new CountersignError('UNKNOWN_ENVIRONMENT', `environment "${req.environment}" does not exist`);
      }
      return null;
    },
    resource: (_l, req, ctx) => freezeResource(ctx, req.environment),
    act: async (tx, _l, req, ctx) => {
      const target = req.environment ?? '*';
      await setKillSwitch(tx, target, on, req.reason ?? '', ctx.principal.id, ctx.now);
      return { result: { scope: target, frozen: on }, resource: `freeze:${target}`, details: { frozen: on, reason: req.reason ?? null } };
    },
  };
}

export function executionOperations(deps: OperationDeps): AnyOperation[] {
  const requestGrant: Operation<
    z.infer<typeof PlanRef>,
    { plan: PlanRecord; doc: PlanDocument | null },
    { grant: string; jti: string; expiresAt: string }
  > = {
    name: 'grant.issue',
    action: 'plan.execute',
    kind: 'mutation',
    summary: 'Mint a single-use grant for an approved plan (two-phase execution); it is consumed by plan.execute.',
    input: PlanRef,
    load: async (tx, { planId }) => ({ plan: await loadPlan(tx, planId), doc: null }),
    resource: (l) => planResource(l.plan),
    guards: [
      async (tx, l, _i, ctx) => {
        l.doc = await assertRunnable(tx, l.plan, { tools: deps.tools, keys: deps.grantKeys }, ctx.now, 'approvals');
        await deps.toolTrust.assertUsable(tx.installationTrust, l.plan.environment, toolsOf(l.doc));
        await assertWitnessed(tx, l.plan, deps.witnessHold);
      },
    ],
    act: async (tx, l, _i, ctx) => {
      const minted = await issueGrant(tx, deps.grantKeys, l.plan, grantScopeOf(l.doc as PlanDocument), {
        now: ctx.now,
        ttlSeconds: deps.grantTtlSeconds,
      });
      const expiresAt = minted.claims.expiresAt.toISOString();
      return {
        result: { grant: minted.token, jti: minted.claims.jti, expiresAt },
        resource: `grant:${minted.claims.jti}`,
        details: { plan: l.plan.id, kid: minted.claims.kid, expiresAt },
      };
    },
  };
  const get: Operation<z.infer<typeof ExecutionRef>, ExecutionRecord, ExecutionView> = {
    name: 'execution.get',
    action: 'execution.read',
    kind: 'read',
    summary: 'An execution with its steps and redacted output.',
    input: ExecutionRef,
    load: (tx, { executionId }) => loadExecution(tx, executionId),
    resource: executionResource,
    act: async (tx, e) => ({ result: toExecutionView(e, await tx.executions.steps(e.id)) }),
  };
  const list: Operation<z.infer<typeof ListExecutions>, null, { executions: ExecutionView[] }> = {
    name: 'execution.list',
    action: 'execution.read',
    kind: 'read',
    summary: "Recent executions of the caller's tenant.",
    input: ListExecutions,
    load: async () => null,
    resource: (_l, _i, ctx) => tenantResource(ctx),
    act: async (tx, _l, q) => ({ result: { executions: (await tx.executions.list(q.limit)).map((e) => toExecutionView(e, [])) } }),
  };
  /** Authorized per execution and tenant (invariant 16); a live stream calls it again on every re-check. */
  const events: Operation<z.infer<typeof EventsInput>, ExecutionRecord, { events: EventRecord[]; status: string; final: boolean }> = {
    name: 'execution.events',
    action: 'execution.read',
    kind: 'read',
    summary: 'The events of one execution after a sequence number.',
    input: EventsInput,
    load: (tx, { executionId }) => loadExecution(tx, executionId),
    resource: executionResource,
    act: async (tx, e, q) => ({
      result: {
        events: await tx.executions.eventsAfter(e.id, q.after),
        status: e.status,
        final: TERMINAL_EXECUTION_STATUSES.includes(e.status),
      },
    }),
  };
  const revoke: Operation<z.infer<typeof RevokeInput>, ExecutionRecord, { jti: string; revokedAt: string }> = {
    name: 'grant.revoke',
    action: 'grant.revoke',
    kind: 'mutation',
    summary: "Revoke an execution's grant: its next step is refused.",
    input: RevokeInput,
    load: (tx, { executionId }) => loadExecution(tx, executionId),
    resource: executionResource,
    act: async (tx, e, req, ctx) => {
      await revokeGrant(tx, e.grantJti, req.reason, ctx.now);
      const at = ctx.now.toISOString();
      await tx.executions.appendEvent(e.id, at, 'grant.revoked', { reason: req.reason, by: ctx.principal.id });
      return {
        result: { jti: e.grantJti, revokedAt: at },
        resource: `grant:${e.grantJti}`,
        details: { execution: e.id, reason: req.reason },
      };
    },
  };
  const freezes: Operation<Record<string, never>, null, { freezes: FreezeRecord[] }> = {
    name: 'freeze.list',
    action: 'execution.read',
    kind: 'read',
    summary: 'The kill switches that are on.',
    input: z.object({}).strict(),
    load: async () => null,
    resource: (_l, _i, ctx) => tenantResource(ctx),
    act: async (tx) => ({ result: { freezes: await tx.freezes.list() } }),
  };
  return [requestGrant, execute(deps), get, list, events, revoke, killSwitch(true), killSwitch(false), freezes];
}
