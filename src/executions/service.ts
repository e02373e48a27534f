import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { assertPlanIntact, planResource } from '../approvals/service.ts';
import { CountersignError } from '../errors/index.ts';
import { type GrantKeyring, mintGrant, verifyGrant } from '../grants/index.ts';
import { parseStoredDocument } from '../plans/document.ts';
import { parseOrThrow } from '../plans/service.ts';
import { type PrivilegeDeps, requirePrivilege, requireRead } from '../policy/require-privilege.ts';
import type { Principal, ResourceRef } from '../policy/types.ts';
import type { Runtime } from '../runtime.ts';
import type { EventRecord, ExecutionRecord, PlanRecord, TenantScope } from '../store/index.ts';
import type { ToolRegistry } from '../tools/index.ts';
import { assertExecutable } from './checks.ts';
import { type ExecutionView, toExecutionView } from './view.ts';

export const ExecuteBodySchema = z
  .object({
    /** A grant minted earlier by POST /v1/plans/:id/grants; omitted, the server mints and consumes one now. */
    grant: z.string().min(1).max(8192).optional(),
  })
  .strict();

export const FreezeBodySchema = z
  .object({ environment: z.string().min(1).max(64).optional(), reason: z.string().min(1).max(2000) })
  .strict();

export interface ExecutionServiceDeps extends PrivilegeDeps {
  runtime: Runtime;
  tools: ToolRegistry;
  grantKeys: GrantKeyring;
  grantTtlSeconds: number;
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
    const plan = await this.#plan(principal, planId);
    return requirePrivilege(this.deps, principal, 'plan.execute', planResource(plan), async (scope) => {
      const existing = await scope.executions.forPlan(planId);
      if (existing) return this.#existing(scope, existing, req.grant);
      const current = await this.#current(scope, planId);
      const now = this.deps.runtime.now();
      await assertExecutable(scope, current, this.deps.tools, now);
      const grant = req.grant ? await this.#checkPresentedGrant(scope, current, req.grant) : await this.#mint(current);
      const id = this.deps.runtime.newId('exe');
      const doc = parseStoredDocument(current.document);
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
      const steps = [
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
        details: { plan: planId, planHash: current.hash, jti: grant.claims.jti, kid: grant.claims.kid, presentedGrant: Boolean(req.grant) },
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

  async #mint(plan: PlanRecord) {
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
      },
      this.deps.runtime.now(),
      this.deps.grantTtlSeconds,
    );
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
