import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { assertPlanIntact, planResource } from '../approvals/service.ts';
import { CountersignError } from '../errors/index.ts';
import { type GrantKeyring, mintGrant, verifyGrant } from '../grants/index.ts';
import { assertOverridable, type OverrideService } from '../overrides/index.ts';
import { parseStoredDocument } from '../plans/document.ts';
import { parseOrThrow } from '../plans/service.ts';
import { type PrivilegeDeps, requirePrivilege, requireRead } from '../policy/require-privilege.ts';
import type { Principal, ResourceRef } from '../policy/types.ts';
import type { Runtime } from '../runtime.ts';
import type { EventRecord, ExecutionRecord, PlanRecord, TenantScope } from '../store/index.ts';
import type { ToolRegistry } from '../tools/index.ts';
import type { ToolTrustGate } from '../trust/index.ts';
import { assertExecutable } from './checks.ts';
import { type ExecutionView, toExecutionView } from './view.ts';

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

export interface ExecutionServiceDeps extends PrivilegeDeps {
  runtime: Runtime;
  tools: ToolRegistry;
  grantKeys: GrantKeyring;
  grantTtlSeconds: number;
  /** Re-verifies every tool of the plan against the trust store as it is now (invariant 13). */
  toolTrust: ToolTrustGate;
  overrides: OverrideService;
}

export function executionResource(e: ExecutionRecord): ResourceRef {
  return { type: 'Execution', id: e.id, tenantId: e.tenantId, environment: e.environment };
}

/** API side of execution: grants, execute requests, reads, revocation and kill switches. */
export class ExecutionService {
  constructor(private readonly deps: ExecutionServiceDeps) {}

  /** Mints a grant without using it (two-phase callers); it is consumed by `execute`. */
  async requestGrant(principal: Principal, planId: string): Promise<{ grant: string; jti: string; expiresAt: string }> {
    const plan = await this.#plan(principal, planId);
    return requirePrivilege(this.deps, principal, 'plan.execute', planResource(plan), async (scope) => {
      const current = await this.#current(scope, planId);
      await assertExecutable(scope, current, this.deps.tools, this.deps.runtime.now());
      await this.deps.toolTrust.assertUsable(scope.installationTrust, current.environment, toolsOf(current));
      const minted = await this.#mint(current);
      await scope.executions.insertGrant({
        jti: minted.claims.jti,
        plan_id: planId,
        key_id: minted.claims.kid,
        issued_at: minted.claims.issuedAt.toISOString(),
        expires_at: minted.claims.expiresAt.toISOString(),
        consumed_at: null,
        execution_id: null,
        revoked_at: null,
        revoke_reason: null,
      });
      return {
        result: { grant: minted.token, jti: minted.claims.jti, expiresAt: minted.claims.expiresAt.toISOString() },
        resource: `grant:${minted.claims.jti}`,
        details: { plan: planId, kid: minted.claims.kid, expiresAt: minted.claims.expiresAt.toISOString() },
      };
    });
  }

  /**
   * Creates the plan's one execution (invariant 10): a repeated request gets the same execution
   * back; a grant is consumed in the same transaction that creates it, so it cannot run twice.
   */
  async execute(principal: Principal, planId: string, body: unknown): Promise<{ execution: ExecutionView; created: boolean }> {
    const req = parseOrThrow(ExecuteBodySchema, body ?? {}, 'body');
    if (req.override !== undefined) return this.#executeUnderOverride(principal, planId, req.override);
    const plan = await this.#plan(principal, planId);
    return requirePrivilege(this.deps, principal, 'plan.execute', planResource(plan), async (scope) => {
      const existing = await scope.executions.forPlan(planId);
      if (existing) return this.#existing(scope, existing, req.grant);
      const current = await this.#current(scope, planId);
      if (current.status !== 'approved') {
        // A concurrent request may have created the execution after our first look, committing
        // before the plan was read (PostgreSQL, read committed): it gets that execution (invariant 10).
        const winner = await scope.executions.forPlan(planId);
        if (winner) return this.#existing(scope, winner, req.grant);
      }
      const now = this.deps.runtime.now();
      await assertExecutable(scope, current, this.deps.tools, now);
      const unsignedTools = await this.deps.toolTrust.assertUsable(scope.installationTrust, current.environment, toolsOf(current));
      const grant = req.grant ? await this.#checkPresentedGrant(scope, current, req.grant) : await this.#mint(current);
      const id = this.deps.runtime.newId('exe');
      const record: ExecutionRecord = {
        id,
        tenantId: principal.tenantId,
        planId,
        environment: current.environment,
        grantJti: grant.claims.jti,
        grantToken: grant.token,
        status: 'queued',
        reason: null,
        requestedBy: principal.id,
        overrideId: null,
        leaseOwner: null,
        leaseExpiresAt: null,
        attempt: 0,
        createdAt: now.toISOString(),
        startedAt: null,
        finishedAt: null,
      };
      const steps = executionSteps(current);
      if (!(await scope.executions.insertIfAbsent(record, steps))) {
        const winner = await scope.executions.forPlan(planId);
        if (!winner) throw new CountersignError('CONFLICT', 'the execution changed concurrently; retry');
        return this.#existing(scope, winner, undefined);
      }
      if (!req.grant) {
        await scope.executions.insertGrant({
          jti: grant.claims.jti,
          plan_id: planId,
          key_id: grant.claims.kid,
          issued_at: grant.claims.issuedAt.toISOString(),
          expires_at: grant.claims.expiresAt.toISOString(),
          consumed_at: null,
          execution_id: null,
          revoked_at: null,
          revoke_reason: null,
        });
      }
      if (!(await scope.executions.consumeGrant(grant.claims.jti, id, now.toISOString()))) {
        throw new CountersignError('GRANT_REPLAYED', `grant ${grant.claims.jti} was already used or revoked`);
      }
      if (!(await scope.plans.setStatus(planId, 'approved', 'executing', now.toISOString(), `execution ${id}`))) {
        throw new CountersignError('CONFLICT', `plan ${planId} changed concurrently; retry`);
      }
      await scope.executions.appendEvent(id, now.toISOString(), 'execution.queued', { by: principal.id });
      return {
        result: { execution: toExecutionView(record, await scope.executions.steps(id)), created: true },
        resource: `execution:${id}`,
        details: {
          plan: planId,
          planHash: current.hash,
          jti: grant.claims.jti,
          kid: grant.claims.kid,
          presentedGrant: Boolean(req.grant),
          ...(unsignedTools.length > 0 ? { unsignedTools, warning: 'UNSIGNED tool manifests (developmentMode)' } : {}),
        },
      };
    });
  }

  async get(principal: Principal, id: string): Promise<ExecutionView> {
    const e = await this.#execution(principal, id);
    await requireRead(this.deps, principal, 'execution.read', executionResource(e));
    return toExecutionView(e, await this.deps.store.scope(principal.tenantId).executions.steps(id));
  }

  async list(principal: Principal, limit = 50): Promise<{ executions: ExecutionView[] }> {
    await requireRead(this.deps, principal, 'execution.read', { type: 'Tenant', id: principal.tenantId, tenantId: principal.tenantId });
    const rows = await this.deps.store.scope(principal.tenantId).executions.list(Math.min(Math.max(limit, 1), 200));
    return { executions: rows.map((e) => toExecutionView(e, [])) };
  }

  /** Authorizes a subscription once per execution and tenant (invariant 16), then reads events. */
  async authorizeEvents(principal: Principal, id: string): Promise<ExecutionRecord> {
    const e = await this.#execution(principal, id);
    await requireRead(this.deps, principal, 'execution.read', executionResource(e));
    return e;
  }

  async eventsAfter(principal: Principal, id: string, afterSeq: number): Promise<{ events: EventRecord[]; execution: ExecutionRecord }> {
    const scope = this.deps.store.scope(principal.tenantId);
    const execution = await scope.executions.get(id);
    if (!execution) throw new CountersignError('NOT_FOUND', `execution ${id} not found`);
    return { events: await scope.executions.eventsAfter(id, afterSeq), execution };
  }

  async revokeGrant(principal: Principal, executionId: string, reason: string): Promise<{ jti: string; revokedAt: string }> {
    const e = await this.#execution(principal, executionId);
    return requirePrivilege(this.deps, principal, 'grant.revoke', executionResource(e), async (scope) => {
      const at = this.deps.runtime.now().toISOString();
      if (!(await scope.executions.revokeGrant(e.grantJti, at, reason)))
        throw new CountersignError('CONFLICT', `grant ${e.grantJti} is already revoked`);
      await scope.executions.appendEvent(e.id, at, 'grant.revoked', { reason, by: principal.id });
      return { result: { jti: e.grantJti, revokedAt: at }, resource: `grant:${e.grantJti}`, details: { execution: e.id, reason } };
    });
  }

  async setFreeze(principal: Principal, body: unknown, frozen: boolean): Promise<{ scope: string; frozen: boolean }> {
    const req = parseOrThrow(frozen ? FreezeBodySchema : FreezeBodySchema.partial({ reason: true }), body ?? {}, 'body');
    const scopeName = req.environment ?? '*';
    const resource: ResourceRef = req.environment
      ? { type: 'Environment', id: req.environment, tenantId: principal.tenantId, environment: req.environment }
      : { type: 'Tenant', id: principal.tenantId, tenantId: principal.tenantId };
    return requirePrivilege(this.deps, principal, 'environment.freeze', resource, async (scope) => {
      if (req.environment && !(await scope.directory.getEnvironment(req.environment))) {
        throw new CountersignError('UNKNOWN_ENVIRONMENT', `environment "${req.environment}" does not exist`);
      }
      const at = this.deps.runtime.now().toISOString();
      const changed = frozen
        ? await scope.executions.freeze(scopeName, req.reason ?? '', principal.id, at)
        : await scope.executions.unfreeze(scopeName);
      if (!changed)
        throw new CountersignError(
          'CONFLICT',
          `${scopeName === '*' ? 'the tenant' : scopeName} is already ${frozen ? 'frozen' : 'not frozen'}`,
        );
      return { result: { scope: scopeName, frozen }, resource: `freeze:${scopeName}`, details: { frozen, reason: req.reason ?? null } };
    });
  }

  async freezes(principal: Principal): Promise<{ freezes: { scope: string; reason: string; actor: string; createdAt: string }[] }> {
    await requireRead(this.deps, principal, 'execution.read', { type: 'Tenant', id: principal.tenantId, tenantId: principal.tenantId });
    return { freezes: await this.deps.store.scope(principal.tenantId).executions.freezes() };
  }

  async #existing(scope: TenantScope, e: ExecutionRecord, presented: string | undefined) {
    if (presented) {
      const claims = await verifyGrant(presented, this.deps.grantKeys, this.deps.runtime.now()).catch(() => null);
      if (!claims || claims.jti !== e.grantJti) {
        throw new CountersignError('GRANT_REPLAYED', `plan ${e.planId} already has execution ${e.id}; a plan runs once`);
      }
    }
    return {
      result: { execution: toExecutionView(e, await scope.executions.steps(e.id)), created: false },
      resource: `execution:${e.id}`,
      details: { existing: true },
    };
  }

  async #checkPresentedGrant(scope: TenantScope, plan: PlanRecord, token: string) {
    const claims = await verifyGrant(token, this.deps.grantKeys, this.deps.runtime.now());
    if (claims.planId !== plan.id || claims.tenant !== plan.tenantId) {
      throw new CountersignError('GRANT_INVALID', `the grant is for another plan, not ${plan.id}`, { details: { reason: 'wrong_plan' } });
    }
    if (claims.planHash !== plan.hash || claims.environment !== plan.environment) {
      throw new CountersignError('GRANT_INVALID', 'the grant was minted for other plan content', { details: { reason: 'wrong_hash' } });
    }
    const row = await scope.executions.getGrant(claims.jti);
    if (!row) throw new CountersignError('GRANT_INVALID', 'the grant is unknown to this server', { details: { reason: 'unknown_jti' } });
    if (row.revoked_at) throw new CountersignError('GRANT_REVOKED', `grant ${claims.jti} was revoked: ${row.revoke_reason ?? ''}`);
    if (row.consumed_at) throw new CountersignError('GRANT_REPLAYED', `grant ${claims.jti} was already used`);
    return { token, claims };
  }

  async #mint(plan: PlanRecord, override?: string) {
    const doc = parseStoredDocument(plan.document);
    return mintGrant(
      this.deps.grantKeys.signingKey(),
      {
        jti: randomUUID(),
        tenant: plan.tenantId,
        environment: plan.environment,
        planId: plan.id,
        planHash: plan.hash,
        scope: { steps: doc.steps.map((_, i) => i), rollback: doc.rollback.map((_, i) => i) },
        ...(override ? { override } : {}),
      },
      this.deps.runtime.now(),
      this.deps.grantTtlSeconds,
    );
  }

  /**
   * Break-glass (invariant 14): decided as `override.use`, then — in one transaction — the
   * override is checked (signature, scope, expiry, revocation, replay), a pending plan moves to
   * approved along the status machine with a reason naming the override, the execution is
   * created with a grant bound to the override, and the nonce is consumed: all of it commits, or
   * nothing does and the override stays unused.
   */
  async #executeUnderOverride(
    principal: Principal,
    planId: string,
    presented: string,
  ): Promise<{ execution: ExecutionView; created: boolean }> {
    const plan = await this.#plan(principal, planId);
    const overrides = this.deps.overrides;
    let overrideId: string | null = null;
    try {
      const out = await requirePrivilege(this.deps, principal, 'override.use', planResource(plan), async (scope) => {
        // Parsed inside the privileged action so that even a malformed override is audited.
        const presentedId = overrides.presentedId(presented);
        overrideId = presentedId;
        const existing = await scope.executions.forPlan(planId);
        if (existing) {
          // A retry of the same break-glass request gets the same execution; nothing is consumed.
          if (existing.overrideId === presentedId) {
            return { ...(await this.#existing(scope, existing, undefined)), details: { existing: true, breakGlass: true } };
          }
          throw new CountersignError('CONFLICT', `plan ${planId} already has execution ${existing.id}; a plan runs once`);
        }
        const current = await this.#current(scope, planId);
        const now = this.deps.runtime.now();
        const accepted = await overrides.accept(scope, current, presented, now);
        await assertOverridable(scope, current, this.deps.tools, now);
        const unsignedTools = await this.deps.toolTrust.assertUsable(scope.installationTrust, current.environment, toolsOf(current));
        const at = now.toISOString();
        const fromStatus = current.status;
        if (fromStatus === 'pending_approval') {
          const why = `break-glass override ${accepted.record.id} by ${principal.id}: ${accepted.document.reason}`;
          if (!(await scope.plans.setStatus(planId, 'pending_approval', 'approved', at, why))) {
            throw new CountersignError('CONFLICT', `plan ${planId} changed concurrently; retry`);
          }
        }
        const grant = await this.#mint(current, accepted.record.id);
        const id = this.deps.runtime.newId('exe');
        const record = newExecutionRecord(id, principal, current, grant.claims.jti, grant.token, at, accepted.record.id);
        if (!(await scope.executions.insertIfAbsent(record, executionSteps(current)))) {
          throw new CountersignError('CONFLICT', `plan ${planId} got an execution concurrently; retry`);
        }
        await scope.executions.insertGrant({
          jti: grant.claims.jti,
          plan_id: planId,
          key_id: grant.claims.kid,
          issued_at: grant.claims.issuedAt.toISOString(),
          expires_at: grant.claims.expiresAt.toISOString(),
          consumed_at: null,
          execution_id: null,
          revoked_at: null,
          revoke_reason: null,
        });
        if (!(await scope.executions.consumeGrant(grant.claims.jti, id, at))) {
          throw new CountersignError('GRANT_REPLAYED', `grant ${grant.claims.jti} was already used or revoked`);
        }
        // The nonce is consumed only here, after every check held, in the execution's transaction.
        if (!(await scope.overrides.consume(accepted.record.id, accepted.record.nonce, id, at))) {
          throw new CountersignError('OVERRIDE_REPLAYED', `override ${accepted.record.id} was used or revoked concurrently`);
        }
        if (!(await scope.plans.setStatus(planId, 'approved', 'executing', at, `execution ${id} under override ${accepted.record.id}`))) {
          throw new CountersignError('CONFLICT', `plan ${planId} changed concurrently; retry`);
        }
        await scope.executions.appendEvent(id, at, 'execution.queued', { by: principal.id, override: accepted.record.id });
        return {
          result: { execution: toExecutionView(record, await scope.executions.steps(id)), created: true },
          resource: `execution:${id}`,
          details: {
            breakGlass: true,
            override: accepted.record.id,
            reason: accepted.document.reason,
            plan: planId,
            planHash: current.hash,
            planStatusBefore: fromStatus,
            environment: current.environment,
            jti: grant.claims.jti,
            ...(unsignedTools.length > 0 ? { unsignedTools, warning: 'UNSIGNED tool manifests (developmentMode)' } : {}),
          },
        };
      });
      overrides.notify(principal, 'override.use', 'allowed', {
        override: overrideId,
        environment: plan.environment,
        reason: null,
        details: { plan: planId, execution: out.execution.id, created: out.created },
      });
      return out;
    } catch (err) {
      overrides.notify(principal, 'override.use', 'refused', {
        override: overrideId,
        environment: plan.environment,
        reason: null,
        details: { plan: planId, code: err instanceof CountersignError ? err.code : 'INTERNAL' },
      });
      throw err;
    }
  }

  async #plan(principal: Principal, planId: string): Promise<PlanRecord> {
    const p = await this.deps.store.scope(principal.tenantId).plans.get(planId);
    if (!p) throw new CountersignError('NOT_FOUND', `plan ${planId} not found`);
    return p;
  }

  async #current(scope: TenantScope, planId: string): Promise<PlanRecord> {
    const p = await scope.plans.get(planId);
    if (!p) throw new CountersignError('NOT_FOUND', `plan ${planId} not found`);
    assertPlanIntact(p);
    return p;
  }

  async #execution(principal: Principal, id: string): Promise<ExecutionRecord> {
    const e = await this.deps.store.scope(principal.tenantId).executions.get(id);
    if (!e) throw new CountersignError('NOT_FOUND', `execution ${id} not found`);
    return e;
  }
}

function toolsOf(plan: PlanRecord): string[] {
  const doc = parseStoredDocument(plan.document);
  return [...doc.steps, ...doc.rollback].map((s) => s.tool);
}

function newExecutionRecord(
  id: string,
  principal: Principal,
  plan: PlanRecord,
  jti: string,
  token: string,
  at: string,
  overrideId: string | null,
): ExecutionRecord {
  return {
    id,
    tenantId: principal.tenantId,
    planId: plan.id,
    environment: plan.environment,
    grantJti: jti,
    grantToken: token,
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

function executionSteps(plan: PlanRecord) {
  const doc = parseStoredDocument(plan.document);
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
