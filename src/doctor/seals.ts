import { CountersignError } from '../errors/index.ts';
import { GrantKeyring } from '../grants/index.ts';
import { assertApprovalsSatisfied, assertSealed, intactDocument, PLAN_STATUSES } from '../plans/index.ts';
import type { PlanStatus, Store } from '../store/index.ts';
import type { DoctorCheck } from './checks.ts';

/** Plans that may still run: a broken seal on one of these is what an attacker would need. */
const LIVE: readonly PlanStatus[] = PLAN_STATUSES.filter((s) => ['pending_approval', 'approved', 'executing'].includes(s));
const LIMIT_PER_STATUS = 1000;

/**
 * Invariant 20: every plan that may still run is intact (its content hashes to its hash, its
 * columns agree with the document), carries the server's seal, and every review of it is
 * sealed. A failure means someone wrote the database behind Countersign's back; the lifecycle
 * refuses such a plan, and this names it for the operator.
 */
export async function checkSeals(store: Store, keysDir: string): Promise<DoctorCheck> {
  const control = 'plans and reviews sealed by the server (invariant 20)';
  const keys = new GrantKeyring(keysDir, false);
  const broken: string[] = [];
  let checked = 0;
  for (const tenantId of await store.listTenantIdsForSweeps()) {
    const scope = store.scope(tenantId);
    for (const status of LIVE) {
      const page = await scope.plans.list({ limit: LIMIT_PER_STATUS, status });
      for (const plan of page.plans) {
        checked++;
        try {
          intactDocument(plan);
          assertSealed(plan, keys);
          // Judged for the seals only: a plan still waiting for reviews is not broken.
          const votes = await scope.approvals.forPlan(plan.id);
          try {
            assertApprovalsSatisfied(plan, votes, new Date(plan.createdAt), keys);
          } catch (err) {
            if (!(err instanceof CountersignError) || err.code === 'SEAL_INVALID') throw err;
          }
        } catch (err) {
          broken.push(`${plan.id} (${err instanceof CountersignError ? err.code : 'error'})`);
        }
      }
    }
  }
  if (broken.length > 0) {
    return {
      control,
      result: 'FAIL',
      evidence: `${broken.length} of ${checked} live plan(s) fail their seals and will not run: ${broken.slice(0, 20).join(', ')}${broken.length > 20 ? ', …' : ''}. Someone wrote the database directly; restore from a backup and review the audit log.`,
    };
  }
  return { control, result: 'PASS', evidence: `${checked} live plan(s) and their reviews verify under the server's grant keys` };
}
