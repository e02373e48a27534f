import { z } from 'zod';
import { requiresStepUp, type StepUpSettings, type Tally } from '../approvals/index.ts';
import { CountersignError } from '../errors/index.ts';
import {
  assertNotExpired,
  assertSealed,
  assertStatus,
  intactDocument,
  isExpired,
  type PlanView,
  previewOverdue,
  sealReview,
  tallyFor,
  toPlanView,
  transition,
} from '../plans/index.ts';
import type { ApprovalRecord, PlanRecord } from '../store/index.ts';
import type { OperationDeps } from './deps.ts';
import { withNames } from './plan-views.ts';
import { loadPlan, PlanIdSchema, planResource, tenantResource } from './plans.ts';
import type { AnyOperation, Operation, OperationContext } from './types.ts';

export const ReviewBodySchema = z
  .object({
    decision: z.enum(['approve', 'reject']),
    /** The hash the reviewer saw; refused if the plan is no longer exactly that (invariant 4). */
    planHash: z.string().regex(/^[0-9a-f]{64}$/, 'expected the 64-hex plan hash you reviewed'),
    comment: z.string().max(2000).default(''),
  })
  .strict();

export const InboxQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();

const ReviewInput = ReviewBodySchema.extend({ planId: PlanIdSchema }).strict();
type ReviewInputT = z.infer<typeof ReviewInput>;

export interface ReviewResult {
  plan: PlanView;
  tally: Tally;
}

/** The operation a review body names: approve and reject are decided as separate actions. */
export function reviewOperationFor(body: unknown): 'plan.approve' | 'plan.reject' {
  return (body as { decision?: unknown } | null)?.decision === 'reject' ? 'plan.reject' : 'plan.approve';
}

/**
 * A human's review (approve or reject) of one exact plan content. Policy decides who may review
 * at all; the guards hold the lifecycle (pending, not expired, intact, the hash the reviewer
 * saw) and the approval requirement (a reviewer from a required group). Each refusal is
 * audited `denied`.
 */
function review(deps: OperationDeps, decision: 'approve' | 'reject'): Operation<ReviewInputT, PlanRecord, ReviewResult> {
  return {
    name: decision === 'approve' ? 'plan.approve' : 'plan.reject',
    action: decision === 'approve' ? 'plan.approve' : 'plan.reject',
    kind: 'mutation',
    summary: decision === 'approve' ? 'Approve a plan, naming the hash you reviewed.' : 'Reject a plan, naming the hash you reviewed.',
    input: ReviewInput.refine((r) => r.decision === decision, { message: `expected "${decision}"`, path: ['decision'] }),
    load: (tx, { planId }) => loadPlan(tx, planId),
    resource: planResource,
    guards: [
      (_tx, plan, _i, ctx) => assertNotExpired(plan, ctx.now),
      // No weaker path (issues 13, 14): only the console can verify a security key, so a plan
      // that needs step-up is approved there and nowhere else: not with an API key, not from chat.
      (_tx, plan, req, ctx) => {
        if (decision === 'approve') assertSteppedUp(plan, req.planHash, ctx, deps.stepUp);
      },
      (_tx, plan) => assertStatus(plan, ['pending_approval'], 'only pending plans can be reviewed'),
      (_tx, plan, req) => {
        intactDocument(plan, req.planHash);
        assertSealed(plan, deps.grantKeys);
      },
      (_tx, plan, _i, ctx) => {
        const required = new Set(plan.approval.require.map((r) => r.group));
        if (!ctx.principal.groups.some((g) => required.has(g))) {
          throw new CountersignError(
            'POLICY_DENIED',
            `this plan needs reviewers from ${[...required].join(', ')}; you are in none of them`,
          );
        }
      },
    ],
    act: async (tx, plan, req, ctx) => {
      const review: ApprovalRecord = {
        id: deps.runtime.newId('apr'),
        planId: plan.id,
        reviewerId: ctx.principal.id,
        reviewerGroups: [...ctx.principal.groups],
        decision: req.decision,
        planHash: req.planHash,
        comment: req.comment,
        channel: ctx.channel,
        createdAt: ctx.now.toISOString(),
        seal: null,
      };
      review.seal = sealReview(deps.grantKeys, plan.tenantId, review);
      await tx.approvals.insert(review);
      const votes = await tx.approvals.forPlan(plan.id);
      const t = tallyFor(plan, votes, ctx.now);
      let current = plan;
      if (t.rejectedBy) current = await transition(tx, plan, 'rejected', `rejected by ${t.rejectedBy}`, ctx.now);
      else if (t.satisfied) {
        const seats = t.requirements.map((r) => `${r.have}/${r.count} ${r.group}`).join(', ');
        current = await transition(tx, plan, 'approved', `approved: ${seats}`, ctx.now);
      }
      return {
        result: { plan: (await withNames(tx, [toPlanView(current, votes, ctx.now)]))[0] as PlanView, tally: t },
        details: { decision: req.decision, planHash: req.planHash, channel: ctx.channel, status: current.status, missing: t.missing },
      };
    },
  };
}

/** Refuses an approval that needs step-up unless the console verified one over this exact hash. */
function assertSteppedUp(plan: PlanRecord, planHash: string, ctx: OperationContext, settings: StepUpSettings): void {
  if (!requiresStepUp(plan, settings) || ctx.stepUp?.planHash === planHash) return;
  const what = `plan ${plan.id} (${plan.environment}, ${plan.risk} risk) needs a security-key step-up to approve`;
  throw new CountersignError(
    'STEP_UP_REQUIRED',
    settings.consoleEnabled
      ? `${what}: approve it in the console, where your security key signs the plan hash`
      : `${what}, and only the console can ask for one, but it is disabled: enable \`console\` or change \`console.stepUp\` in countersign.yaml`,
    { details: { risk: plan.risk, environment: plan.environment, channel: ctx.channel } },
  );
}

export function reviewOperations(deps: OperationDeps): AnyOperation[] {
  /** Pending plans the caller could review now: in a required group, not the proposer, not yet voted. */
  const inbox: Operation<z.infer<typeof InboxQuerySchema>, null, { plans: PlanView[] }> = {
    name: 'review.inbox',
    action: 'plan.read',
    kind: 'read',
    summary: "The caller's review inbox: pending plans they may review and have not yet voted on.",
    input: InboxQuerySchema,
    load: async () => null,
    resource: (_l, _i, ctx) => tenantResource(ctx),
    act: async (tx, _l, q, ctx) => {
      const { principal, now } = ctx;
      if (principal.kind !== 'human') return { result: { plans: [] } };
      const page = await tx.plans.list({ limit: 200, status: 'pending_approval' });
      const candidates = page.plans.filter(
        (p) => p.proposerId !== principal.id && p.approval.require.some((r) => principal.groups.includes(r.group)) && !isExpired(p, now),
      );
      const voted = await tx.approvals.votedBy(
        principal.id,
        candidates.map((p) => p.id),
      );
      const mine = candidates.filter((p) => !voted.has(p.id)).slice(0, q.limit);
      const views = await Promise.all(mine.map(async (p) => toPlanView(p, await tx.approvals.forPlan(p.id), now)));
      return { result: { plans: await withNames(tx, views) } };
    },
  };
  return [review(deps, 'approve'), review(deps, 'reject'), inbox];
}

/**
 * Host operation: moves one overdue plan to `expired` (the sweeper calls it per plan): a pending
 * plan past its expiry, or a previewing plan whose previews did not come within the pending TTL.
 */
export function expiryOperation(deps: Pick<OperationDeps, 'pendingTtlHours'>): Operation<{ planId: string }, PlanRecord, boolean> {
  return {
    name: 'plan.expire',
    action: 'plan.expire',
    kind: 'mutation',
    summary: 'Expire a plan that passed its expiry without a decision, or waited too long for its previews (host sweeper).',
    input: z.object({ planId: PlanIdSchema }).strict(),
    load: (tx, { planId }) => loadPlan(tx, planId),
    resource: planResource,
    guards: [
      (_tx, plan, _i, ctx) => {
        if (!isExpired(plan, ctx.now) && !previewOverdue(plan, ctx.now, deps.pendingTtlHours)) {
          throw new CountersignError('PLAN_INVALID_TRANSITION', `plan ${plan.id} is not overdue`);
        }
      },
    ],
    act: async (tx, plan, _i, ctx) => {
      const previewing = plan.status === 'previewing';
      const reason = previewing ? `its previews did not arrive within ${deps.pendingTtlHours} hours` : 'no decision before expiry';
      await transition(tx, plan, 'expired', reason, ctx.now);
      return {
        result: true,
        resource: `plan:${plan.id}`,
        details: previewing ? { from: 'previewing', previewingSince: plan.updatedAt } : { expiresAt: plan.expiresAt },
      };
    },
  };
}
