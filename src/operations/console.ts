import { z } from 'zod';
import { type AuditEntryView, auditPublicKeysIn, toAuditView, type VerifyReport, verifyAuditChain } from '../audit/index.ts';
import { CountersignError } from '../errors/index.ts';
import type { PlanView } from '../plans/index.ts';
import { decideRequest } from '../policy/index.ts';
import type { PlanRecord } from '../store/index.ts';
import type { OperationDeps } from './deps.ts';
import type { HostDeps } from './host.ts';
import { reviewerViewWithFindings, withNames } from './plan-views.ts';
import { loadPlan, PlanIdSchema, planResource, tenantResource } from './plans.ts';
import { reviewOperations } from './reviews.ts';
import type { AnyOperation, Operation, OperationContext } from './types.ts';

/** Whether the caller may review the plan now, and every reason why not, from the pipeline's own rules. */
export interface ReviewEligibility {
  allowed: boolean;
  reasons: string[];
}

/** A step's tool as the reviewer sees it: the manifest digest the step pins and who signed it. */
export interface ReviewToolView {
  name: string;
  digest: string | null;
  version: string | null;
  signers: string[];
  /** False when the loaded manifest is not the one the step was validated against. */
  matches: boolean;
}

/** The Cedar decision that admitted the plan, from its `plan.propose` audit entry. */
export interface Admission {
  seq: number;
  ts: string;
  actor: string;
  channel: string | null;
  policies: string[];
}

export interface PlanReviewPage {
  plan: PlanView;
  tools: ReviewToolView[];
  admission: Admission | null;
  eligibility: ReviewEligibility;
}

const ReviewPageInput = z.object({ planId: PlanIdSchema }).strict();

/**
 * Whether `ctx.principal` may approve `plan`: the approve operation's own resource, decision
 * (code rules + Cedar) and guards, run without acting, plus the inbox's rule that a reviewer
 * who voted has nothing left to decide. So the page says exactly what the pipeline would.
 */
async function eligibility(
  approve: AnyOperation,
  tx: Parameters<AnyOperation['load']>[0],
  plan: PlanRecord,
  ctx: OperationContext,
  deps: OperationDeps,
): Promise<ReviewEligibility> {
  const reasons: string[] = [];
  const input = { planId: plan.id, decision: 'approve', planHash: plan.hash, comment: '' };
  const decision = decideRequest(deps.authorizer, {
    principal: ctx.principal,
    action: approve.action,
    resource: approve.resource(plan, input, ctx),
  });
  if (!decision.allow) {
    reasons.push(...(decision.reasons.length > 0 ? decision.reasons : ['policy does not permit you to approve this plan']));
  }
  // The console asks for the step-up itself when the reviewer approves: not a reason to hide the form.
  const asked: OperationContext = ctx.channel === 'web' ? { ...ctx, stepUp: { planHash: plan.hash, keyId: 'asked at approval' } } : ctx;
  for (const guard of approve.guards ?? []) {
    try {
      await guard(tx, plan, input, asked);
    } catch (err) {
      if (!(err instanceof CountersignError)) throw err;
      reasons.push(err.message);
    }
  }
  if ((await tx.approvals.votedBy(ctx.principal.id, [plan.id])).has(plan.id)) reasons.push('you have already reviewed this plan');
  return { allowed: reasons.length === 0, reasons: [...new Set(reasons)] };
}

export const AuditSearchSchema = z
  .object({
    actor: z.string().max(128).optional(),
    action: z.string().max(64).optional(),
    resource: z.string().max(256).optional(),
    outcome: z.enum(['allowed', 'denied', 'succeeded', 'failed']).optional(),
    since: z.iso.datetime().optional(),
    until: z.iso.datetime().optional(),
    before: z.coerce.number().int().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

/**
 * Reads the reviewer console needs beyond the plain API ones (issue 13): the plan page (the
 * reviewer view plus tools, admission and eligibility) and a filtered audit search.
 */
export function consoleOperations(deps: OperationDeps & Pick<HostDeps, 'keysDir'>): AnyOperation[] {
  const approve = reviewOperations(deps).find((op) => op.name === 'plan.approve') as AnyOperation;
  const page: Operation<z.infer<typeof ReviewPageInput>, PlanRecord, PlanReviewPage> = {
    name: 'plan.review-page',
    action: 'plan.read',
    kind: 'read',
    summary:
      'One plan as a reviewer decides on it: the plan, its tools, the decision that admitted it, and whether the caller may approve.',
    input: ReviewPageInput,
    load: (tx, { planId }) => loadPlan(tx, planId),
    resource: planResource,
    act: async (tx, plan, _i, ctx) => {
      const [view] = await withNames(tx, [await reviewerViewWithFindings(deps, plan, await tx.approvals.forPlan(plan.id), ctx.now)]);
      const planView = view as PlanView;
      const names = [...new Set([...planView.steps, ...planView.rollback].map((s) => s.tool))];
      const tools = names.map((name): ReviewToolView => {
        const loaded = deps.tools.get(name);
        const pinned = [...planView.steps, ...planView.rollback].find((s) => s.tool === name)?.toolDigest ?? null;
        return {
          name,
          digest: pinned,
          version: loaded?.manifest.version ?? null,
          signers: loaded ? [...loaded.signers] : [],
          matches: loaded?.digest === pinned,
        };
      });
      const [proposed] = await tx.searchAudit({ resource: `plan:${plan.id}`, action: 'plan.propose', outcome: 'allowed', limit: 1 });
      const details = proposed ? (JSON.parse(proposed.details) as { channel?: string; policies?: string[] }) : null;
      return {
        result: {
          plan: planView,
          tools,
          admission: proposed
            ? {
                seq: proposed.seq,
                ts: proposed.ts,
                actor: proposed.actor,
                channel: details?.channel ?? null,
                policies: details?.policies ?? [],
              }
            : null,
          eligibility: await eligibility(approve, tx, plan, ctx, deps),
        },
      };
    },
  };
  const search: Operation<z.infer<typeof AuditSearchSchema>, null, { entries: AuditEntryView[]; next: number | null }> = {
    name: 'audit.search',
    action: 'audit.read',
    kind: 'read',
    summary: "The caller's tenant's audit entries filtered by actor, action, resource, outcome and time, newest first.",
    input: AuditSearchSchema,
    load: async () => null,
    resource: (_l, _i, ctx) => tenantResource(ctx),
    act: async (tx, _l, q) => {
      const rows = await tx.searchAudit(q);
      const last = rows.at(-1);
      return { result: { entries: rows.map(toAuditView), next: rows.length === q.limit && last ? last.seq : null } };
    },
  };
  /**
   * The whole chain verified as `audit verify` does: every hash and link, every checkpoint's
   * signature, nothing missing behind the newest signed checkpoint. The report carries positions
   * and a verdict, never another tenant's entries.
   */
  const verify: Operation<Record<string, never>, null, VerifyReport> = {
    name: 'audit.verify',
    action: 'audit.read',
    kind: 'read',
    summary: 'Verify the audit hash chain up to the newest signed checkpoint (the verdict and positions, no entries).',
    input: z.object({}).strict(),
    load: async () => null,
    resource: (_l, _i, ctx) => tenantResource(ctx),
    act: async () => ({
      result: await verifyAuditChain({
        segments: await deps.store.auditVerificationSegments(),
        checkpoints: await deps.store.listAuditCheckpoints(),
        head: await deps.store.auditHead(),
        publicKeys: auditPublicKeysIn(deps.keysDir),
      }),
    }),
  };
  return [page, search, verify];
}
