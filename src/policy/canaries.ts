import type { Authorizer, AuthzRequest, Principal, PrivilegedAction, ResourceRef } from './types.ts';

/** A request every acceptable policy set denies. */
export interface Canary {
  name: string;
  request: AuthzRequest;
}

export type CanaryResult = { ok: true } | { ok: false; failed: string[] };

// Every role at once: a canary must hold even for a principal that has been given everything.
const ALL_ROLES = ['admin', 'operator', 'approvers', 'agent', 'auditor'];

function human(id: string, tenantId: string, groups: readonly string[]): Principal {
  return { id, tenantId, name: id, kind: 'human', groups, authMethod: 'oidc' };
}

function agent(id: string, tenantId: string, groups: readonly string[]): Principal {
  return { id, tenantId, name: id, kind: 'agent', groups, authMethod: 'api_key' };
}

function plan(tenantId: string, proposerId: string | undefined): ResourceRef {
  const ref: ResourceRef = { type: 'Plan', id: 'canary-plan', tenantId, environment: 'prod', risk: 'high', source: 'api' };
  if (proposerId !== undefined) ref.proposerId = proposerId;
  return ref;
}

function canary(name: string, principal: Principal, action: PrivilegedAction, resource: ResourceRef): Canary {
  return { name, request: { principal, action, resource } };
}

/**
 * The built-in canaries: requests that break a security invariant if allowed. The server
 * refuses to load a policy set that allows any of them, naming the canary.
 */
export const CANARIES: readonly Canary[] = Object.freeze([
  // Invariants 5 and 6: agents never review, whatever groups they were put in.
  canary('agent approves a plan', agent('canary-agent', 't-a', ['agent']), 'plan.approve', plan('t-a', 'canary-human')),
  canary('agent in every role approves a plan', agent('canary-agent', 't-a', ALL_ROLES), 'plan.approve', plan('t-a', 'canary-human')),
  canary('agent in every role rejects a plan', agent('canary-agent', 't-a', ALL_ROLES), 'plan.reject', plan('t-a', 'canary-human')),
  // Invariant 5: separation of duties, also when the proposer is an admin and an approver.
  canary('proposer approves its own plan', human('canary-human', 't-a', ALL_ROLES), 'plan.approve', plan('t-a', 'canary-human')),
  canary('proposer rejects its own plan', human('canary-human', 't-a', ALL_ROLES), 'plan.reject', plan('t-a', 'canary-human')),
  canary('approval of a plan with no known proposer', human('canary-human', 't-a', ALL_ROLES), 'plan.approve', plan('t-a', undefined)),
  // Invariant 1: deny by default — a principal with no role can do nothing, reads included.
  canary('principal with no group reads a plan', human('canary-nobody', 't-a', []), 'plan.read', plan('t-a', 'canary-human')),
  canary('principal with no group proposes a plan', human('canary-nobody', 't-a', []), 'plan.propose', plan('t-a', 'canary-nobody')),
  canary('principal with no group lists plans', human('canary-nobody', 't-a', []), 'plan.read', {
    type: 'Tenant',
    id: 't-a',
    tenantId: 't-a',
  }),
  canary('agent with no group reads a plan', agent('canary-agent', 't-a', []), 'plan.read', plan('t-a', 'canary-human')),
  canary(
    'principal with an unknown group executes a plan',
    human('canary-nobody', 't-a', ['canary-unknown-role']),
    'plan.execute',
    plan('t-a', 'canary-human'),
  ),
  // Invariant 18: tenant isolation binds admins too.
  canary('admin of tenant B reads a plan of tenant A', human('canary-admin-b', 't-b', ['admin']), 'plan.read', plan('t-a', 'canary-human')),
  canary(
    'admin of tenant B approves a plan of tenant A',
    human('canary-admin-b', 't-b', ALL_ROLES),
    'plan.approve',
    plan('t-a', 'canary-human'),
  ),
  canary(
    'admin of tenant B executes a plan of tenant A',
    human('canary-admin-b', 't-b', ALL_ROLES),
    'plan.execute',
    plan('t-a', 'canary-human'),
  ),
  canary('auditor of tenant B reads the audit log of tenant A', human('canary-auditor-b', 't-b', ['auditor']), 'audit.read', {
    type: 'Tenant',
    id: 't-a',
    tenantId: 't-a',
  }),
  canary('admin of tenant B changes trust in tenant A', human('canary-admin-b', 't-b', ALL_ROLES), 'trust.change', {
    type: 'Tenant',
    id: 't-a',
    tenantId: 't-a',
  }),
  canary('admin of tenant B issues an override in tenant A', human('canary-admin-b', 't-b', ALL_ROLES), 'override.issue', {
    type: 'Override',
    id: 'canary-override',
    tenantId: 't-a',
    environment: 'prod',
  }),
]);

/**
 * Runs every canary. A canary passes when it is denied (with either code) or the authorizer
 * throws, since callers treat a throw as deny; it fails when it is allowed.
 */
export function checkCanaries(authorizer: Authorizer, canaries: readonly Canary[] = CANARIES): CanaryResult {
  const failed: string[] = [];
  for (const c of canaries) {
    let allowed = false;
    try {
      allowed = authorizer.authorize(c.request).allow === true;
    } catch {
      allowed = false;
    }
    if (allowed) failed.push(c.name);
  }
  return failed.length === 0 ? { ok: true } : { ok: false, failed };
}
