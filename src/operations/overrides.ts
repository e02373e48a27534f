import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import { toExecutionView } from '../executions/index.ts';
import { consumeGrant, issueGrant } from '../grants/index.ts';
import {
  type AcceptedOverride,
  type IssuedOverride,
  IssueOverrideSchema,
  type OverrideView,
  overrideResource,
  overrideSigningText,
  RevokeOverrideSchema,
  toOverrideView,
} from '../overrides/index.ts';
import { assertRunnable, type PlanDocument, transition } from '../plans/index.ts';
import type { OverrideRecord, PlanRecord } from '../store/index.ts';
import type { OperationDeps } from './deps.ts';
import { type ExecuteResult, executionSteps, existingExecution, grantScopeOf, newExecutionRecord, toolsOf } from './executions.ts';
import { loadPlan, PlanIdSchema, planResource, tenantResource } from './plans.ts';
import type { AnyOperation, Operation, OperationContext } from './types.ts';

function presentedIdOrNull(deps: OperationDeps, presented: string | undefined): string | null {
  if (presented === undefined) return null;
  try {
    return deps.overrides.presentedId(presented);
  } catch {
    return null;
  }
}

const unique = (xs: readonly string[]) => [...new Set(xs)].sort();

/** Every break-glass decision, allowed or refused, raises a notification that never blocks it. */
function notifying<I, L, T>(
  deps: OperationDeps,
  op: Operation<I, L, T>,
  fields: (
    input: I | undefined,
    result: T | undefined,
  ) => { override: string | null; environment: string | null; reason: string | null; details?: Record<string, unknown> },
): Operation<I, L, T> {
  return {
    ...op,
    settled: (ctx: OperationContext, input, outcome) => {
      const event = op.action as 'override.issue' | 'override.use' | 'override.revoke';
      const f = fields(input, outcome.ok ? outcome.result : undefined);
      if (outcome.ok) deps.overrides.notify(ctx.principal, event, 'allowed', f);
      else {
        const code = outcome.error instanceof CountersignError ? outcome.error.code : 'INTERNAL';
        deps.overrides.notify(ctx.principal, event, 'refused', { ...f, details: { ...f.details, code } });
      }
    },
  };
}

type IssueInput = z.infer<typeof IssueOverrideSchema>;

const issue = (deps: OperationDeps): Operation<IssueInput, null, IssuedOverride> => ({
  name: 'override.issue',
  action: 'override.issue',
  kind: 'mutation',
  summary: 'Issue a break-glass override: signed, scoped to an environment, tools and actions, at most one hour, with a reason.',
  input: IssueOverrideSchema,
  load: async (tx, req) => {
    const env = req.scope.environment;
    if (!(await tx.directory.getEnvironment(env))) {
      throw new CountersignError('UNKNOWN_ENVIRONMENT', `scope.environment: "${env}" does not exist in this tenant`, {
        details: { field: 'scope.environment' },
      });
    }
    const tools = unique(req.scope.tools);
    for (const t of tools) {
      if (!deps.tools.get(t)) {
        throw new CountersignError('UNKNOWN_TOOL', `scope.tools: no tool named "${t}" is loaded`, { details: { field: 'scope.tools' } });
      }
    }
    for (const a of unique(req.scope.actions)) {
      if (!tools.some((t) => deps.tools.get(t)?.manifest.actions[a])) {
        throw new CountersignError('UNKNOWN_ACTION', `scope.actions: none of ${tools.join(', ')} has an action "${a}"`, {
          details: { field: 'scope.actions' },
        });
      }
    }
    return null;
  },
  resource: (_l, req, ctx) => ({
    type: 'Environment',
    id: req.scope.environment,
    tenantId: ctx.principal.tenantId,
    environment: req.scope.environment,
  }),
  act: async (tx, _l, req, ctx) => {
    const tools = unique(req.scope.tools);
    const actions = unique(req.scope.actions);
    const { document: doc, signed } = deps.overrides.sign({
      v: 1,
      type: 'countersign-override',
      id: deps.runtime.newId('ovr'),
      tenant: ctx.principal.tenantId,
      environment: req.scope.environment,
      tools,
      actions,
      reason: req.reason,
      issuedBy: ctx.principal.id,
      issuedAt: ctx.now.toISOString(),
      expiresAt: new Date(ctx.now.getTime() + req.ttlSeconds * 1000).toISOString(),
    });
    const record = {
      id: doc.id,
      environment: doc.environment,
      document: overrideSigningText(doc),
      keyId: signed.keyId,
      signature: signed.signature,
      nonce: doc.nonce,
      reason: doc.reason,
      issuedBy: doc.issuedBy,
      issuedAt: doc.issuedAt,
      expiresAt: doc.expiresAt,
    };
    await tx.overrides.insert(record);
    const full: OverrideRecord = {
      ...record,
      tenantId: ctx.principal.tenantId,
      consumedAt: null,
      executionId: null,
      revokedAt: null,
      revokedBy: null,
      revokeReason: null,
    };
    return {
      result: { ...toOverrideView(full, ctx.now), signed },
      resource: `override:${doc.id}`,
      details: {
        breakGlass: true,
        environment: doc.environment,
        tools,
        actions,
        reason: doc.reason,
        expiresAt: doc.expiresAt,
        keyId: signed.keyId,
      },
    };
  },
});

const RevokeInput = RevokeOverrideSchema.extend({ overrideId: z.string().min(1).max(128) }).strict();

/**
 * Revocation is itself privileged and audited (invariant 14): a human the policy allows
 * `override.revoke` (a code rule refuses agents, whatever their groups).
 */
const revoke = (): Operation<z.infer<typeof RevokeInput>, OverrideRecord, OverrideView> => ({
  name: 'override.revoke',
  action: 'override.revoke',
  kind: 'mutation',
  summary: 'Revoke a break-glass override: unused, it can no longer be used; in use, its next step is refused.',
  input: RevokeInput,
  load: async (tx, { overrideId }) => {
    const row = await tx.overrides.get(overrideId);
    if (!row) throw new CountersignError('NOT_FOUND', `override ${overrideId} not found`);
    return row;
  },
  resource: overrideResource,
  act: async (tx, row, req, ctx) => {
    if (!(await tx.overrides.revoke(row.id, ctx.principal.id, ctx.now.toISOString(), req.reason))) {
      throw new CountersignError('CONFLICT', `override ${row.id} is already revoked`);
    }
    const after = await tx.overrides.get(row.id);
    if (!after) throw new CountersignError('CONFLICT', `override ${row.id} changed concurrently; retry`);
    return {
      result: toOverrideView(after, ctx.now),
      resource: `override:${row.id}`,
      details: { breakGlass: true, reason: req.reason, execution: after.executionId, wasUsed: after.consumedAt !== null },
    };
  },
});

const UseInput = z.object({ planId: PlanIdSchema, override: z.string().min(1).max(16384) }).strict();
interface UseLoad {
  plan: PlanRecord;
  overrideId: string;
  accepted: AcceptedOverride | null;
  doc: PlanDocument | null;
  unsignedTools: string[];
  existing: boolean;
}

/**
 * Break-glass use (invariant 14), in one transaction: the override is checked (signature, scope,
 * expiry, revocation, replay) and the plan's lifecycle holds (content, tools, no freeze); a
 * pending plan moves to approved with a reason naming the override, the execution is created
 * with a grant bound to the override, and the nonce is consumed — all of it commits, or nothing
 * does and the override stays unused.
 */
const use = (deps: OperationDeps): Operation<z.infer<typeof UseInput>, UseLoad, ExecuteResult> => ({
  name: 'override.use',
  action: 'override.use',
  kind: 'mutation',
  summary: 'Run a plan under a break-glass override instead of approvals.',
  input: UseInput,
  load: async (tx, req) => {
    const plan = await loadPlan(tx, req.planId);
    return { plan, overrideId: '', accepted: null, doc: null, unsignedTools: [], existing: false };
  },
  resource: (l) => planResource(l.plan),
  guards: [
    async (tx, l, req, ctx) => {
      // Parsed here, after the decision, so that even a malformed override is audited.
      l.overrideId = deps.overrides.presentedId(req.override);
      const existing = await tx.executions.forPlan(l.plan.id);
      if (existing) {
        // A retry of the same break-glass request gets the same execution; nothing is consumed.
        if (existing.overrideId === l.overrideId) {
          l.existing = true;
          return;
        }
        throw new CountersignError('CONFLICT', `plan ${l.plan.id} already has execution ${existing.id}; a plan runs once`);
      }
      l.accepted = await deps.overrides.accept(tx, l.plan, req.override, ctx.now);
      l.doc = await assertRunnable(tx, l.plan, { tools: deps.tools, keys: deps.grantKeys }, ctx.now, 'override');
      l.unsignedTools = await deps.toolTrust.assertUsable(tx.installationTrust, l.plan.environment, toolsOf(l.doc));
    },
  ],
  act: async (tx, l, _req, ctx) => {
    if (l.existing) {
      const e = await tx.executions.forPlan(l.plan.id);
      if (!e) throw new CountersignError('CONFLICT', 'the execution changed concurrently; retry');
      const again = await existingExecution(deps, tx, e, undefined, ctx.now);
      return { ...again, details: { existing: true, breakGlass: true } };
    }
    const accepted = l.accepted as AcceptedOverride;
    const doc = l.doc as PlanDocument;
    const at = ctx.now.toISOString();
    const statusBefore = l.plan.status;
    let plan = l.plan;
    if (plan.status === 'pending_approval') {
      const why = `break-glass override ${accepted.record.id} by ${ctx.principal.id}: ${accepted.document.reason}`;
      plan = await transition(tx, plan, 'approved', why, ctx.now);
    }
    const grant = await issueGrant(tx, deps.grantKeys, plan, grantScopeOf(doc), {
      now: ctx.now,
      ttlSeconds: deps.grantTtlSeconds,
      override: accepted.record.id,
    });
    const id = deps.runtime.newId('exe');
    const record = newExecutionRecord(id, ctx.principal, plan, grant, at, accepted.record.id);
    if (!(await tx.executions.insertIfAbsent(record, executionSteps(doc)))) {
      throw new CountersignError('CONFLICT', `plan ${plan.id} got an execution concurrently; retry`);
    }
    await consumeGrant(tx, grant.claims.jti, id, ctx.now);
    // The nonce is consumed only here, after every check held, in the execution's transaction.
    if (!(await tx.overrides.consume(accepted.record.id, accepted.record.nonce, id, at))) {
      throw new CountersignError('OVERRIDE_REPLAYED', `override ${accepted.record.id} was used or revoked concurrently`);
    }
    await transition(tx, plan, 'executing', `execution ${id} under override ${accepted.record.id}`, ctx.now);
    await tx.executions.appendEvent(id, at, 'execution.queued', { by: ctx.principal.id, override: accepted.record.id });
    return {
      result: { execution: toExecutionView(record, await tx.executions.steps(id)), created: true },
      resource: `execution:${id}`,
      details: {
        breakGlass: true,
        override: accepted.record.id,
        reason: accepted.document.reason,
        plan: plan.id,
        planHash: plan.hash,
        planStatusBefore: statusBefore,
        environment: plan.environment,
        jti: grant.claims.jti,
        ...(l.unsignedTools.length > 0 ? { unsignedTools: l.unsignedTools, warning: 'UNSIGNED tool manifests (developmentMode)' } : {}),
      },
    };
  },
});

const ListInput = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();

export function overrideOperations(deps: OperationDeps): AnyOperation[] {
  /** Overrides are part of the record: listed to whoever may read the audit log. */
  const list: Operation<z.infer<typeof ListInput>, null, { overrides: OverrideView[] }> = {
    name: 'override.list',
    action: 'audit.read',
    kind: 'read',
    summary: 'Break-glass overrides, newest first.',
    input: ListInput,
    load: async () => null,
    resource: (_l, _i, ctx) => tenantResource(ctx),
    act: async (tx, _l, q, ctx) => ({ result: { overrides: (await tx.overrides.list(q.limit)).map((r) => toOverrideView(r, ctx.now)) } }),
  };
  return [
    notifying(deps, issue(deps), (i, r) => ({
      override: r?.id ?? null,
      environment: i?.scope.environment ?? null,
      reason: i?.reason ?? null,
    })),
    notifying(deps, use(deps), (i, r) => ({
      override: presentedIdOrNull(deps, i?.override),
      environment: r?.execution.environment ?? null,
      reason: null,
      ...(r ? { details: { plan: i?.planId, execution: r.execution.id, created: r.created } } : {}),
    })),
    notifying(deps, revoke(), (i) => ({ override: i?.overrideId ?? null, environment: null, reason: i?.reason ?? null })),
    list,
  ];
}
