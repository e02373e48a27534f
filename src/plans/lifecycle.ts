import { CountersignError } from '../errors/index.ts';
import { type GrantKeyLookup, type GrantKeyring, sealFields, sealHolds } from '../grants/index.ts';
import type { ApprovalRecord, PlanRecord, TenantScope } from '../store/index.ts';
import type { ToolRegistry } from '../tools/index.ts';
import { type PlanDocument, parseStoredDocument, sha256Hex } from './document.ts';
import { canTransition, type PlanStatus } from './status.ts';
import { tallyFor } from './view.ts';

/**
 * The plan's lifecycle, in one place: the status machine and every check a plan must pass to be
 * reviewed or to run. The operations call these before they act and the executor calls them
 * before every step, so a check has one implementation and one message per failure
 * (CONVENTIONS: one check, one implementation).
 */

/**
 * The stored content still hashes to the stored hash (invariant 4), and to `expected` when the
 * caller holds the hash that was reviewed or granted; the columns that repeat a fact of the
 * hashed document (tenant, environment, proposer, source) agree with it (invariant 20: a
 * database writer cannot move an approved dev plan to prod). Returns the parsed document, so a
 * caller parses it once.
 */
export function intactDocument(plan: PlanRecord, expected?: string): PlanDocument {
  if (sha256Hex(plan.document) !== plan.hash) {
    throw new CountersignError(
      'PLAN_HASH_MISMATCH',
      `plan ${plan.id} does not match its recorded hash: its stored content changed; refusing`,
    );
  }
  if (expected !== undefined && expected !== plan.hash) {
    throw new CountersignError(
      'PLAN_HASH_MISMATCH',
      `plan ${plan.id} is ${plan.hash.slice(0, 12)}…, not the ${expected.slice(0, 12)}… that was reviewed; review it again`,
    );
  }
  const doc = parseStoredDocument(plan.document);
  const sealed: [string, string, string][] = [
    ['tenant', doc.tenant, plan.tenantId],
    ['environment', doc.environment, plan.environment],
    ['proposer', doc.proposer, plan.proposerId],
    ['source', doc.source, plan.source],
  ];
  for (const [field, inDocument, stored] of sealed) {
    if (inDocument !== stored) {
      throw new CountersignError(
        'PLAN_HASH_MISMATCH',
        `plan ${plan.id}: its stored ${field} "${stored}" is not the "${inDocument}" of its hashed document; refusing`,
        { details: { field } },
      );
    }
  }
  return doc;
}

/**
 * What a plan's seal covers: the facts that decide whether and when it may run and that the
 * hashed document does not fix (invariant 20). Status is not sealed: it is re-derived — an
 * approved plan must still show sealed reviews that satisfy its sealed requirement.
 */
function planSealFields(p: PlanRecord): Record<string, unknown> {
  return {
    id: p.id,
    tenant: p.tenantId,
    hash: p.hash,
    risk: p.risk,
    riskReasons: p.riskReasons,
    approval: p.approval,
    createdAt: p.createdAt,
    expiresAt: p.expiresAt,
  };
}

/** What a review's seal covers: who decided what, on which content, when, through which channel. */
function reviewSealFields(tenantId: string, a: ApprovalRecord): Record<string, unknown> {
  return {
    id: a.id,
    tenant: tenantId,
    plan: a.planId,
    reviewer: a.reviewerId,
    groups: a.reviewerGroups,
    decision: a.decision,
    planHash: a.planHash,
    channel: a.channel,
    createdAt: a.createdAt,
  };
}

export function sealPlan(keys: GrantKeyring, plan: PlanRecord): string {
  return sealFields(keys, 'plan', planSealFields(plan));
}

export function sealReview(keys: GrantKeyring, tenantId: string, review: ApprovalRecord): string {
  return sealFields(keys, 'review', reviewSealFields(tenantId, review));
}

/** The plan row carries a valid server seal over its risk, requirement and expiry. */
export function assertSealed(plan: PlanRecord, keys: GrantKeyLookup): void {
  if (!sealHolds(keys, 'plan', planSealFields(plan), plan.seal)) {
    throw new CountersignError(
      'SEAL_INVALID',
      `plan ${plan.id}: its stored risk, approval requirement or expiry is not what the server sealed; refusing`,
    );
  }
}

/** Every tool a plan names is still the manifest it was validated against. */
export function assertToolsUnchanged(plan: PlanRecord, doc: PlanDocument, tools: ToolRegistry, only?: PlanDocument['steps']): void {
  for (const step of only ?? [...doc.steps, ...doc.rollback]) {
    const tool = tools.get(step.tool);
    if (!tool || tool.digest !== step.toolDigest) {
      throw new CountersignError('TOOL_CHANGED', `tool ${step.tool} changed since plan ${plan.id} was proposed; propose it again`);
    }
  }
}

/** No kill switch covers the environment: an override is not a way past a freeze either. */
export async function assertNotFrozen(scope: TenantScope, environment: string): Promise<void> {
  const frozen = await scope.freezes.covering(environment);
  if (frozen) {
    throw new CountersignError(
      'FROZEN',
      `${frozen.scope === '*' ? 'the tenant' : `environment ${frozen.scope}`} is frozen (${frozen.reason}); unfreeze to run`,
    );
  }
}

/** True when a pending plan is past its expiry (instants compared as instants, never as text). */
export function isExpired(plan: PlanRecord, now: Date): boolean {
  return plan.status === 'pending_approval' && plan.expiresAt !== null && Date.parse(plan.expiresAt) <= now.getTime();
}

/**
 * True when a previewing plan has waited longer for its previews than a pending plan may wait for
 * review (`waitHours`, the pending TTL), counted from when it became `previewing`: at proposal, or
 * when a stale first step sent it back. (Its sealed expiry is not used: a plan sent back long
 * after review still carries the one set when its previews were attached. Attaching sets a new one.)
 */
export function previewOverdue(plan: PlanRecord, now: Date, waitHours: number): boolean {
  return plan.status === 'previewing' && Date.parse(plan.updatedAt) + waitHours * 3_600_000 <= now.getTime();
}

export function assertNotExpired(plan: PlanRecord, now: Date): void {
  if (isExpired(plan, now)) throw new CountersignError('PLAN_EXPIRED', `plan ${plan.id} expired at ${plan.expiresAt}; propose it again`);
}

export function assertStatus(plan: PlanRecord, allowed: readonly PlanStatus[], doing: string): void {
  if (!allowed.includes(plan.status)) {
    throw new CountersignError('PLAN_INVALID_TRANSITION', `plan ${plan.id} is ${plan.status}; ${doing}`, {
      details: { status: plan.status },
    });
  }
}

/**
 * The approval requirement is met by valid reviews of this exact content (invariant 5),
 * judged at `at` (the time the execution was granted, when the executor re-checks).
 */
export function assertApprovalsSatisfied(plan: PlanRecord, votes: readonly ApprovalRecord[], at: Date, keys: GrantKeyLookup): void {
  // A review row the server did not seal (inserted or edited in the database) is refused loudly.
  for (const v of votes) {
    if (!sealHolds(keys, 'review', reviewSealFields(plan.tenantId, v), v.seal)) {
      throw new CountersignError('SEAL_INVALID', `review ${v.id} of plan ${plan.id} is not one the server sealed; refusing`);
    }
  }
  if (plan.approval.autoApproved) return;
  const t = tallyFor(plan, votes, at);
  if (!t.satisfied) {
    throw new CountersignError(
      'APPROVALS_UNSATISFIED',
      `plan ${plan.id}'s approvals are not valid (${t.missing.join('; ') || 'rejected'}); propose it again`,
    );
  }
}

/** Moves a plan along the status machine, compare-and-set on its current status. */
export async function transition(
  scope: TenantScope,
  plan: PlanRecord,
  to: PlanStatus,
  reason: string | null,
  now: Date,
): Promise<PlanRecord> {
  if (!canTransition(plan.status, to)) {
    throw new CountersignError('PLAN_INVALID_TRANSITION', `plan ${plan.id} is ${plan.status}; it cannot become ${to}`, {
      details: { from: plan.status, to },
    });
  }
  const at = now.toISOString();
  if (!(await scope.plans.setStatus(plan.id, plan.status, to, at, reason))) {
    throw new CountersignError('CONFLICT', `plan ${plan.id} changed concurrently; retry`);
  }
  return { ...plan, status: to, statusReason: reason, updatedAt: at };
}

/** On what authority a plan runs: its reviews, or a break-glass override standing in for them. */
export type RunBasis = 'approvals' | 'override';

/**
 * Everything that must hold for a plan to start running, checked when a grant is minted or an
 * execution created: the right status, intact content, unchanged tools, no freeze, and (unless an
 * override stands in for them) approvals satisfied now.
 */
export async function assertRunnable(
  scope: TenantScope,
  plan: PlanRecord,
  deps: { tools: ToolRegistry; keys: GrantKeyLookup },
  now: Date,
  basis: RunBasis,
): Promise<PlanDocument> {
  const { tools, keys } = deps;
  if (basis === 'approvals') assertStatus(plan, ['approved'], 'only approved plans can run');
  else {
    assertStatus(plan, ['pending_approval', 'approved'], 'an override can only run a pending or approved plan');
    assertNotExpired(plan, now);
  }
  // Content first: a tampered row is a hash mismatch, whatever its approvals say.
  const doc = intactDocument(plan);
  assertSealed(plan, keys);
  assertToolsUnchanged(plan, doc, tools);
  await assertNotFrozen(scope, plan.environment);
  if (basis === 'approvals') assertApprovalsSatisfied(plan, await scope.approvals.forPlan(plan.id), now, keys);
  return doc;
}

/**
 * What the executor re-checks before every step (invariant 8), the same functions as above:
 * the content is still what the grant names, the step's tool is unchanged, nothing is frozen,
 * and the reviews that let the execution start are still there (judged at its start).
 */
export async function assertStepMayRun(
  scope: TenantScope,
  plan: PlanRecord,
  options: {
    grantedHash: string;
    tools: ToolRegistry;
    keys: GrantKeyLookup;
    step: { phase: 'main' | 'rollback'; idx: number };
    basis: RunBasis;
    grantedAt: Date;
  },
): Promise<PlanDocument> {
  const doc = intactDocument(plan, options.grantedHash);
  assertSealed(plan, options.keys);
  const planStep = (options.step.phase === 'main' ? doc.steps : doc.rollback)[options.step.idx];
  if (!planStep)
    throw new CountersignError('PLAN_HASH_MISMATCH', `plan ${plan.id} has no ${options.step.phase} step ${options.step.idx + 1}`);
  assertToolsUnchanged(plan, doc, options.tools, [planStep]);
  await assertNotFrozen(scope, plan.environment);
  if (options.basis === 'approvals') {
    assertApprovalsSatisfied(plan, await scope.approvals.forPlan(plan.id), options.grantedAt, options.keys);
  }
  return doc;
}

// ---- previews (issue 17) ----

/** What attaching previews changes on a plan: its content and everything sealed that follows from it. */
export type PreviewedContent = Pick<
  PlanRecord,
  'document' | 'hash' | 'risk' | 'riskReasons' | 'approval' | 'expiresAt' | 'status' | 'statusReason'
>;

/**
 * Attaches previews: `previewing` → `pending_approval` (or `approved` by an auto rule, or
 * `rejected` when no rule covers the raised risk), with the new content hashed and the row
 * resealed. Compare-and-set on the status and on the hash the previews were run for.
 */
export async function attachPreviews(
  scope: TenantScope,
  plan: PlanRecord,
  next: PreviewedContent,
  keys: GrantKeyring,
  now: Date,
): Promise<PlanRecord> {
  if (!canTransition(plan.status, next.status)) {
    throw new CountersignError('PLAN_INVALID_TRANSITION', `plan ${plan.id} is ${plan.status}; previews cannot make it ${next.status}`);
  }
  if (sha256Hex(next.document) !== next.hash) throw new CountersignError('INTERNAL', 'previewed content does not match its hash');
  const updated: PlanRecord = { ...plan, ...next, updatedAt: now.toISOString(), seal: null };
  updated.seal = sealPlan(keys, updated);
  if (!(await scope.plans.attachPreviews(plan.id, plan.hash, updated))) {
    throw new CountersignError('CONFLICT', `plan ${plan.id} changed concurrently; its previews were not attached`);
  }
  return updated;
}

/**
 * A stale first step: the plan goes back to `previewing` (nobody can review it until fresh
 * previews are attached; approvals of the old content name the old hash and no longer count).
 */
export async function reopenForPreview(scope: TenantScope, plan: PlanRecord, reason: string, now: Date): Promise<PlanRecord> {
  const moved = await transition(scope, plan, 'previewing', reason, now);
  await scope.previews.queue(plan.id, plan.hash, now.toISOString());
  return moved;
}
