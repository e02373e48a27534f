import type { AuditAction } from '../audit/index.ts';
import { CountersignError } from '../errors/index.ts';
import type { Store, TenantScope } from '../store/index.ts';
import type { Authorizer, AuthzRequest, Decision, Principal, PrivilegedAction, ResourceRef } from './types.ts';

export interface PrivilegeDeps {
  store: Store;
  authorizer: Authorizer;
}

export interface ActOutcome<T> {
  result: T;
  /** `type:id` of what was changed, when it differs from the authorized resource (e.g. a new plan). */
  resource?: string;
  details?: Record<string, unknown>;
}

/** The decision, failing closed: an authorizer that throws denies (invariant 1). */
export function decide(authorizer: Authorizer, request: AuthzRequest): Decision {
  try {
    return authorizer.authorize(request);
  } catch (err) {
    return { allow: false, code: 'POLICY_UNAVAILABLE', reasons: [`policy engine error: ${(err as Error).message}`] };
  }
}

function resourceKey(r: ResourceRef): string {
  return `${r.type.toLowerCase()}:${r.id}`;
}

async function refuse(deps: PrivilegeDeps, request: AuthzRequest, decision: Extract<Decision, { allow: false }>): Promise<never> {
  await deps.store.scope(request.principal.tenantId).audit({
    actor: request.principal.id,
    action: request.action as AuditAction,
    outcome: 'denied',
    resource: resourceKey(request.resource),
    details: { code: decision.code, reasons: decision.reasons },
  });
  if (decision.policies?.includes('code:separation-of-duties') || decision.policies?.includes('separation-of-duties')) {
    throw new CountersignError('SELF_APPROVAL', 'the proposer of a plan cannot review it; ask another reviewer');
  }
  if (decision.code === 'POLICY_UNAVAILABLE') {
    throw new CountersignError('POLICY_UNAVAILABLE', 'the policy engine could not decide, so the request is denied');
  }
  throw new CountersignError('POLICY_DENIED', `policy does not permit ${request.action} on ${resourceKey(request.resource)}`, {
    details: { reasons: decision.reasons },
  });
}

const REVIEW_ACTIONS: readonly PrivilegedAction[] = ['plan.approve', 'plan.reject'];

/**
 * Separation of duties, enforced in code as well as in the baseline policy (invariant 5): even
 * a policy edited to permit it cannot let a proposer review their own plan, or an agent review
 * anything.
 */
function separationOfDuties(request: AuthzRequest): Extract<Decision, { allow: false }> | null {
  if (!REVIEW_ACTIONS.includes(request.action)) return null;
  if (request.principal.kind !== 'human') {
    return { allow: false, code: 'POLICY_DENIED', reasons: ['only human principals review plans'] };
  }
  if (!request.resource.proposerId || request.resource.proposerId === request.principal.id) {
    return {
      allow: false,
      code: 'POLICY_DENIED',
      reasons: ['separation of duties: the proposer cannot review their own plan'],
      policies: ['code:separation-of-duties'],
    };
  }
  return null;
}

/** Checks that the context is the caller's own (invariant 3/18) before any policy runs. */
function checkContext(principal: Principal, resource: ResourceRef): void {
  if (!principal.tenantId || principal.tenantId !== resource.tenantId) {
    throw new CountersignError('NOT_FOUND', `${resource.type.toLowerCase()} ${resource.id} not found`);
  }
}

/**
 * The one chokepoint for privileged mutations (invariant 2). In order:
 *   authenticated principal → context check → policy decision (deny audited, then refused)
 *   → one transaction: the action, then its audit entry.
 * The change and its audit entry commit together or not at all (invariant 11): if the entry
 * cannot be written the transaction rolls back and the caller gets AUDIT_WRITE_FAILED.
 */
export async function requirePrivilege<T>(
  deps: PrivilegeDeps,
  principal: Principal,
  action: PrivilegedAction,
  resource: ResourceRef,
  act: (scope: TenantScope) => Promise<ActOutcome<T>>,
): Promise<T> {
  checkContext(principal, resource);
  const request: AuthzRequest = { principal, action, resource };
  const sod = separationOfDuties(request);
  if (sod) return refuse(deps, request, sod);
  const decision = decide(deps.authorizer, request);
  if (!decision.allow) return refuse(deps, request, decision);
  try {
    return await deps.store.transaction(principal.tenantId, async (scope) => {
      const outcome = await act(scope);
      await scope.audit({
        actor: principal.id,
        action: action as AuditAction,
        outcome: 'allowed',
        resource: outcome.resource ?? resourceKey(resource),
        details: { ...outcome.details, policies: decision.policies },
      });
      return outcome.result;
    });
  } catch (err) {
    await auditFailure(deps, request, err);
    throw err;
  }
}

/**
 * An allowed action that then failed (stale hash, wrong status, bad input) is recorded too, in
 * its own transaction since the action's was rolled back. If even that cannot be written the
 * original error still reaches the caller: nothing happened either way.
 */
async function auditFailure(deps: PrivilegeDeps, request: AuthzRequest, err: unknown): Promise<void> {
  if (!(err instanceof CountersignError) || err.code === 'AUDIT_WRITE_FAILED' || err.code === 'STORE_UNAVAILABLE') return;
  try {
    await deps.store.scope(request.principal.tenantId).audit({
      actor: request.principal.id,
      action: request.action as AuditAction,
      outcome: 'failed',
      resource: resourceKey(request.resource),
      details: { code: err.code, message: err.message },
    });
  } catch {
    // The caller gets the original error; the failed attempt changed nothing.
  }
}

/**
 * Reads are decided by the same policy and fail closed the same way; a denied read is audited,
 * an allowed one is not (it changes nothing and would flood the log).
 */
export async function requireRead(
  deps: PrivilegeDeps,
  principal: Principal,
  action: PrivilegedAction,
  resource: ResourceRef,
): Promise<void> {
  checkContext(principal, resource);
  const request: AuthzRequest = { principal, action, resource };
  const decision = decide(deps.authorizer, request);
  if (!decision.allow) await refuse(deps, request, decision);
}
