import { CountersignError } from '../errors/index.ts';
import { assertRunnableContent } from '../executions/checks.ts';
import type { PlanRecord, TenantScope } from '../store/index.ts';
import type { ToolRegistry } from '../tools/index.ts';

/**
 * What must hold for a plan to run under an override: everything `assertExecutable` checks
 * except the approvals the override stands in for. The plan is pending (and not past its expiry)
 * or approved; its content still matches its hash (invariant 4); every tool is still the
 * manifest it was proposed against; no kill switch is on — an override is not a way past a
 * freeze.
 */
export async function assertOverridable(scope: TenantScope, plan: PlanRecord, tools: ToolRegistry, now: Date): Promise<void> {
  if (plan.status !== 'pending_approval' && plan.status !== 'approved') {
    throw new CountersignError(
      'PLAN_INVALID_TRANSITION',
      `plan ${plan.id} is ${plan.status}; an override can only run a pending or approved plan`,
    );
  }
  if (plan.status === 'pending_approval' && plan.expiresAt && Date.parse(plan.expiresAt) <= now.getTime()) {
    throw new CountersignError('PLAN_INVALID_TRANSITION', `plan ${plan.id} expired at ${plan.expiresAt}; propose it again`);
  }
  await assertRunnableContent(scope, plan, tools);
}
