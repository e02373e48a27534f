import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import { sha256Hex } from '../plans/document.ts';
import { parseOrThrow } from '../plans/service.ts';
import { canTransition } from '../plans/status.ts';
import { type DecisionResult, type PlanView, tallyFor, toPlanView } from '../plans/view.ts';
import { type PrivilegeDeps, requirePrivilege, requireRead } from '../policy/require-privilege.ts';
import type { Principal, ResourceRef } from '../policy/types.ts';
import type { Runtime } from '../runtime.ts';
import type { PlanRecord, TenantScope } from '../store/index.ts';

export const ApprovalBodySchema = z
  .object({
    decision: z.enum(['approve', 'reject']),
    /** The hash the reviewer saw; refused if the plan is no longer exactly that (invariant 4). */
    planHash: z.string().regex(/^[0-9a-f]{64}$/, 'expected the 64-hex plan hash you reviewed'),
    comment: z.string().max(2000).default(''),
  })
  .strict();

export const InboxQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();

export type ReviewChannel = 'api' | 'cli' | 'web' | 'chat';

export type { DecisionResult } from '../plans/view.ts';

export function planResource(p: PlanRecord): ResourceRef {
  return {
    type: 'Plan',
    id: p.id,
    tenantId: p.tenantId,
    environment: p.environment,
    risk: p.risk,
    source: p.source,
    proposerId: p.proposerId,
  };
}

/**
 * The stored hash must still be the hash of the stored content: a row edited behind
 * Countersign's back (invariant 4) fails here, before any approval is counted.
 */
export function assertPlanIntact(p: PlanRecord): void {
  if (sha256Hex(p.document) !== p.hash) {
    throw new CountersignError('PLAN_HASH_MISMATCH', `plan ${p.id} does not match its recorded hash: its stored content changed; refusing`);
  }
}

/** Reviewing plans: approve, reject, cancel, the inbox, and expiry of pending plans. */
export class ApprovalService {
  constructor(private readonly deps: PrivilegeDeps & { runtime: Runtime }) {}

  async decide(principal: Principal, planId: string, body: unknown, channel: ReviewChannel): Promise<DecisionResult> {
    const req = parseOrThrow(ApprovalBodySchema, body, 'body');
    const plan = await this.#load(principal, planId);
    const action = req.decision === 'approve' ? 'plan.approve' : 'plan.reject';
    return requirePrivilege(this.deps, principal, action, planResource(plan), async (scope) => {
      const current = await this.#current(scope, planId);
      const now = this.deps.runtime.now();
      this.#refuseIfExpired(current, now);
      if (current.status !== 'pending_approval') {
        throw new CountersignError('PLAN_INVALID_TRANSITION', `plan ${planId} is ${current.status}; only pending plans can be reviewed`);
      }
      assertPlanIntact(current);
      if (req.planHash !== current.hash) {
        throw new CountersignError(
          'PLAN_HASH_MISMATCH',
          `you reviewed ${req.planHash.slice(0, 12)}… but plan ${planId} is ${current.hash.slice(0, 12)}…; review it again`,
        );
      }
      const required = new Set(current.approval.require.map((r) => r.group));
      if (!principal.groups.some((g) => required.has(g))) {
        throw new CountersignError('POLICY_DENIED', `this plan needs reviewers from ${[...required].join(', ')}; you are in none of them`);
      }
      await scope.approvals.insert({
        id: this.deps.runtime.newId('apr'),
        planId,
        reviewerId: principal.id,
        reviewerGroups: [...principal.groups],
        decision: req.decision,
        planHash: req.planHash,
        comment: req.comment,
        channel,
        createdAt: now.toISOString(),
      });
      const votes = await scope.approvals.forPlan(planId);
      const t = tallyFor(current, votes, now);
      let status: PlanRecord['status'] = current.status;
      if (t.rejectedBy) status = await this.#move(scope, current, 'rejected', `rejected by ${t.rejectedBy}`, now);
      else if (t.satisfied)
        status = await this.#move(
          scope,
          current,
          'approved',
          `approved: ${t.requirements.map((r) => `${r.have}/${r.count} ${r.group}`).join(', ')}`,
          now,
        );
      const updated = { ...current, status, updatedAt: now.toISOString() };
      return {
        result: { plan: toPlanView(updated, votes, now), tally: t },
        details: { decision: req.decision, planHash: req.planHash, channel, status, missing: t.missing },
      };
    });
  }

  async cancel(principal: Principal, planId: string, reason: string): Promise<PlanView> {
    const plan = await this.#load(principal, planId);
    return requirePrivilege(this.deps, principal, 'plan.cancel', planResource(plan), async (scope) => {
      const current = await this.#current(scope, planId);
      const now = this.deps.runtime.now();
      await this.#move(scope, current, 'cancelled', reason || `cancelled by ${principal.name}`, now);
      return { result: toPlanView({ ...current, status: 'cancelled', statusReason: reason }, null, now), details: { reason } };
    });
  }

  /** Pending plans the caller could review now: in a required group, not the proposer, not yet voted. */
  async inbox(principal: Principal, query: unknown): Promise<{ plans: PlanView[] }> {
    const q = parseOrThrow(InboxQuerySchema, query, 'query');
    await requireRead(this.deps, principal, 'plan.read', { type: 'Tenant', id: principal.tenantId, tenantId: principal.tenantId });
    if (principal.kind !== 'human') return { plans: [] };
    const scope = this.deps.store.scope(principal.tenantId);
    const now = this.deps.runtime.now();
    const page = await scope.plans.list({ limit: 200, status: 'pending_approval' });
    const candidates = page.plans.filter(
      (p) =>
        p.proposerId !== principal.id &&
        p.approval.require.some((r) => principal.groups.includes(r.group)) &&
        (!p.expiresAt || p.expiresAt > now.toISOString()),
    );
    const voted = await scope.approvals.votedBy(
      principal.id,
      candidates.map((p) => p.id),
    );
    const mine = candidates.filter((p) => !voted.has(p.id)).slice(0, q.limit);
    const views = await Promise.all(mine.map(async (p) => toPlanView(p, await scope.approvals.forPlan(p.id), now)));
    return { plans: views };
  }

  /** Moves every overdue pending plan of a tenant to `expired`, each with its audit entry. */
  async expireDue(tenantId: string): Promise<number> {
    const now = this.deps.runtime.now();
    const due = await this.deps.store.scope(tenantId).plans.listExpired(now.toISOString(), 500);
    let n = 0;
    for (const p of due) {
      await this.deps.store.transaction(tenantId, async (scope) => {
        if (await scope.plans.setStatus(p.id, 'pending_approval', 'expired', now.toISOString(), 'no decision before expiry')) {
          await scope.audit({
            actor: 'system',
            action: 'plan.expire',
            outcome: 'succeeded',
            resource: `plan:${p.id}`,
            details: { expiresAt: p.expiresAt },
          });
          n++;
        }
      });
    }
    return n;
  }

  async #load(principal: Principal, planId: string): Promise<PlanRecord> {
    const plan = await this.deps.store.scope(principal.tenantId).plans.get(planId);
    if (!plan) throw new CountersignError('NOT_FOUND', `plan ${planId} not found`);
    return plan;
  }

  async #current(scope: TenantScope, planId: string): Promise<PlanRecord> {
    const p = await scope.plans.get(planId);
    if (!p) throw new CountersignError('NOT_FOUND', `plan ${planId} not found`);
    return p;
  }

  #refuseIfExpired(p: PlanRecord, now: Date): void {
    if (p.status === 'pending_approval' && p.expiresAt && p.expiresAt <= now.toISOString()) {
      // Expiry is committed by the sweeper; here the review is refused without writing.
      throw new CountersignError('PLAN_INVALID_TRANSITION', `plan ${p.id} expired at ${p.expiresAt}; propose it again`);
    }
  }

  async #move(scope: TenantScope, p: PlanRecord, to: PlanRecord['status'], reason: string, now: Date): Promise<PlanRecord['status']> {
    if (!canTransition(p.status, to)) {
      throw new CountersignError('PLAN_INVALID_TRANSITION', `plan ${p.id} is ${p.status}; it cannot become ${to}`);
    }
    if (!(await scope.plans.setStatus(p.id, p.status, to, now.toISOString(), reason))) {
      throw new CountersignError('CONFLICT', `plan ${p.id} changed concurrently; retry`);
    }
    return to;
  }
}
