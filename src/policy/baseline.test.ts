import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CedarAuthorizer } from './cedar.ts';
import { baselinePolicySet } from './policy-dir.ts';
import { BASELINE_SCHEMA } from './schema.ts';
import { ACTIONS, type AuthzRequest, type Principal, type PrivilegedAction, type ResourceRef, type ResourceType } from './types.ts';

const baseline = new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA);

/** What each role may do inside its own tenant, as documented in baseline.ts. */
const ROLE_ACTIONS: Record<string, readonly PrivilegedAction[]> = {
  admin: ACTIONS,
  operator: [
    'plan.propose',
    'plan.read',
    'execution.read',
    'plan.cancel',
    'plan.execute',
    'environment.freeze',
    'grant.revoke',
    'override.revoke',
  ],
  approvers: ['plan.read', 'execution.read', 'plan.approve', 'plan.reject'],
  agent: ['plan.propose', 'plan.read', 'execution.read', 'plan.execute'],
  auditor: ['plan.read', 'execution.read', 'audit.read'],
  none: [],
};

function principal(role: string, overrides: Partial<Principal> = {}): Principal {
  const kind = role === 'agent' ? 'agent' : 'human';
  return {
    id: `${role}-1`,
    tenantId: 't1',
    name: role,
    kind,
    groups: role === 'none' ? [] : [role],
    authMethod: kind === 'agent' ? 'api_key' : 'oidc',
    ...overrides,
  };
}

function resource(type: ResourceType, overrides: Partial<ResourceRef> = {}): ResourceRef {
  return {
    type,
    id: `${type.toLowerCase()}-1`,
    tenantId: 't1',
    environment: 'prod',
    risk: 'high',
    source: 'api',
    proposerId: 'someone-else',
    ...overrides,
  };
}

function request(p: Principal, action: PrivilegedAction, r: ResourceRef): AuthzRequest {
  return { principal: p, action, resource: r };
}

describe('baseline policy set: each role × each action × each resource type', () => {
  for (const [role, allowed] of Object.entries(ROLE_ACTIONS)) {
    for (const action of ACTIONS) {
      const expectAllow = allowed.includes(action);
      for (const type of baseline.resourceTypesFor(action)) {
        it(`${role} ${expectAllow ? 'may' : 'may not'} ${action} on a ${type}`, () => {
          const decision = baseline.authorize(request(principal(role), action, resource(type)));
          assert.equal(decision.allow, expectAllow, JSON.stringify(decision));
          if (!decision.allow) assert.equal(decision.code, 'POLICY_DENIED');
          else assert.deepEqual(decision.policies, [`role-${role}`]);
        });
      }
    }
  }

  it('declares every action for at least one resource type', () => {
    for (const action of ACTIONS) assert.ok(baseline.resourceTypesFor(action).length > 0, action);
  });

  it('validates without warnings', () => {
    assert.deepEqual(baseline.warnings, []);
  });
});

describe('baseline guardrails', () => {
  it('refuses an agent approving or rejecting, even an agent in every group', () => {
    const a = principal('agent', { groups: ['agent', 'approvers', 'admin', 'operator'] });
    for (const action of ['plan.approve', 'plan.reject'] as const) {
      const d = baseline.authorize(request(a, action, resource('Plan')));
      assert.equal(d.allow, false);
      assert.ok(!d.allow && d.code === 'POLICY_DENIED');
      assert.deepEqual(!d.allow && d.policies, ['only-humans-review']);
      assert.match(!d.allow ? (d.reasons[0] ?? '') : '', /Only a human/);
    }
  });

  it('refuses the proposer approving or rejecting its own plan, admins included', () => {
    const p = principal('approvers', { groups: ['approvers', 'admin'] });
    for (const action of ['plan.approve', 'plan.reject'] as const) {
      const d = baseline.authorize(request(p, action, resource('Plan', { proposerId: p.id })));
      assert.equal(d.allow, false);
      assert.deepEqual(!d.allow && d.policies, ['separation-of-duties']);
    }
  });

  it('refuses self-approval even when a policy explicitly permits it', () => {
    const permissive = new CedarAuthorizer(
      {
        ...baselinePolicySet(),
        'let-proposers-approve': `permit (principal, action == Countersign::Action::"plan.approve", resource)
          when { resource has proposer && resource.proposer == principal };`,
      },
      BASELINE_SCHEMA,
    );
    const p = principal('approvers');
    const d = permissive.authorize(request(p, 'plan.approve', resource('Plan', { proposerId: p.id })));
    assert.equal(d.allow, false);
    assert.deepEqual(!d.allow && d.policies, ['separation-of-duties']);
  });

  it('refuses approving a plan whose proposer is unknown', () => {
    const d = baseline.authorize(request(principal('approvers'), 'plan.approve', resource('Plan', { proposerId: undefined })));
    assert.equal(d.allow, false);
    assert.deepEqual(!d.allow && d.policies, ['separation-of-duties']);
  });

  it('refuses every action across tenants, for admins too', () => {
    const admin = principal('admin', { tenantId: 't2' });
    for (const action of ACTIONS) {
      for (const type of baseline.resourceTypesFor(action)) {
        const d = baseline.authorize(request(admin, action, resource(type)));
        assert.equal(d.allow, false, `${action} on ${type}`);
        assert.ok(!d.allow && d.policies?.includes('tenant-isolation'), `${action} on ${type}`);
      }
    }
  });

  it('lets an admin act on its own principal record (one entity, same tenant)', () => {
    const admin = principal('admin');
    const d = baseline.authorize(request(admin, 'key.create', { type: 'Principal', id: admin.id, tenantId: 't1' }));
    assert.deepEqual(d, { allow: true, policies: ['role-admin'] });
  });

  it('denies a principal with an unknown group everything', () => {
    for (const action of ACTIONS) {
      const type = baseline.resourceTypesFor(action)[0] ?? 'Plan';
      const d = baseline.authorize(request(principal('none', { groups: ['root', 'superuser'] }), action, resource(type)));
      assert.equal(d.allow, false, action);
    }
  });
});
