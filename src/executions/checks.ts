import { assertPlanIntact } from '../approvals/service.ts';
import { CountersignError } from '../errors/index.ts';
import { parseStoredDocument } from '../plans/document.ts';
import { tallyFor } from '../plans/view.ts';
import type { ApprovalRecord, PlanRecord, TenantScope } from '../store/index.ts';
import type { ToolRegistry } from '../tools/index.ts';

/**
 * Everything that must hold for a plan to run, checked when a grant is minted and again by the
 * executor: approved, content still matching its hash (invariant 4), approvals still valid
 * (invariant 5), every tool still the manifest the plan was reviewed against, nothing frozen.
 */
export async function assertExecutable(
  scope: TenantScope,
  plan: PlanRecord,
  tools: ToolRegistry,
  now: Date,
  votes?: readonly ApprovalRecord[],
): Promise<void> {
  if (plan.status !== 'approved') {
    throw new CountersignError('PLAN_INVALID_TRANSITION', `plan ${plan.id} is ${plan.status}; only approved plans can run`);
  }
  // Content first: a tampered row is a hash mismatch, whatever its approvals say.
  await assertRunnableContent(scope, plan, tools);
  if (!plan.approval.autoApproved) {
    const t = tallyFor(plan, votes ?? (await scope.approvals.forPlan(plan.id)), now);
    if (!t.satisfied) {
      throw new CountersignError(
        'PLAN_INVALID_TRANSITION',
        `plan ${plan.id}'s approvals are no longer valid (${t.missing.join('; ') || 'rejected'}); propose it again`,
      );
    }
  }
}

/**
 * What any run needs, with or without approvals: the content still matches its hash
 * (invariant 4), every tool is still the manifest it was reviewed against, nothing is frozen —
 * an override is not a way past a freeze either.
 */
export async function assertRunnableContent(scope: TenantScope, plan: PlanRecord, tools: ToolRegistry): Promise<void> {
  assertPlanIntact(plan);
  const doc = parseStoredDocument(plan.document);
  for (const step of [...doc.steps, ...doc.rollback]) {
    const tool = tools.get(step.tool);
    if (!tool || tool.digest !== step.toolDigest) {
      throw new CountersignError(
        'PLAN_INVALID_TRANSITION',
        `tool ${step.tool} changed since plan ${plan.id} was proposed; propose it again`,
      );
    }
  }
  const frozen = await scope.executions.freezeFor(plan.environment);
  if (frozen) {
    throw new CountersignError(
      'FROZEN',
      `${frozen.scope === '*' ? 'the tenant' : `environment ${frozen.scope}`} is frozen (${frozen.reason}); unfreeze to run`,
    );
  }
}
