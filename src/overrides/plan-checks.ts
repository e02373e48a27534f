import { CountersignError } from '../errors/index.ts';
import { parseStoredDocument, sha256Hex } from '../plans/document.ts';
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
  if (sha256Hex(plan.document) !== plan.hash) {
    throw new CountersignError(
      'PLAN_HASH_MISMATCH',
      `plan ${plan.id} does not match its hash: its stored content changed; refusing to run`,
    );
  }
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
