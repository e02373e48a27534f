import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { CountersignError } from '../errors/index.ts';
import { CedarAuthorizer, DenyAllAuthorizer, decisionKey } from './cedar.ts';
import { toCedarRequest } from './entities.ts';
import { baselinePolicySet } from './policy-dir.ts';
import { type CedarEngine, collectEntityLiteralTypes } from './policy-set.ts';
import { BASELINE_SCHEMA } from './schema.ts';
import type { AuthzRequest, Decision } from './types.ts';

const approve: AuthzRequest = {
  principal: { id: 'alice', tenantId: 't1', name: 'Alice', kind: 'human', groups: ['approvers'], authMethod: 'oidc' },
  action: 'plan.approve',
  resource: { type: 'Plan', id: 'plan-1', tenantId: 't1', environment: 'prod', risk: 'high', source: 'api', proposerId: 'bob' },
};

function assertUnavailable(decision: Decision, pattern?: RegExp): void {
  assert.equal(decision.allow, false, JSON.stringify(decision));
  assert.ok(!decision.allow && decision.code === 'POLICY_UNAVAILABLE', JSON.stringify(decision));
  if (pattern) assert.match(decision.reasons.join(' '), pattern);
}

function assertConfigInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CountersignError, String(err));
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, pattern);
    return true;
  });
}

/** The real engine, whose authorization call can be swapped after construction. */
function switchableEngine(): { engine: CedarEngine; breakWith: (fn: CedarEngine['statefulIsAuthorized']) => void } {
  let authorize: CedarEngine['statefulIsAuthorized'] = cedar.statefulIsAuthorized;
  const engine: CedarEngine = { ...cedar, statefulIsAuthorized: (call) => authorize(call) };
  return { engine, breakWith: (fn) => (authorize = fn) };
}

describe('CedarAuthorizer decisions', () => {
  const authorizer = new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA);

  it('allows naming the determining policy ids', () => {
    assert.deepEqual(authorizer.authorize(approve), { allow: true, policies: ['role-approvers'] });
  });

  it('denies with POLICY_DENIED and a reason when no policy permits', () => {
    const d = authorizer.authorize({ ...approve, action: 'trust.change', resource: { type: 'Tenant', id: 't1', tenantId: 't1' } });
    assert.deepEqual(d, { allow: false, code: 'POLICY_DENIED', reasons: ['No policy permits trust.change on Tenant "t1".'], policies: [] });
  });

  it('fails closed on a resource type the action does not apply to', () => {
    assertUnavailable(authorizer.authorize({ ...approve, resource: { type: 'Tenant', id: 't1', tenantId: 't1' } }), /not valid/);
  });

  it('fails closed on an action the schema does not know', () => {
    assertUnavailable(authorizer.authorize({ ...approve, action: 'plan.delete' as AuthzRequest['action'] }), /does not exist/);
  });

  it('fails closed on an empty tenant or id instead of judging missing facts', () => {
    assertUnavailable(authorizer.authorize({ ...approve, principal: { ...approve.principal, tenantId: '' } }), /tenantId is missing/);
    assertUnavailable(authorizer.authorize({ ...approve, resource: { ...approve.resource, tenantId: '' } }), /tenantId is missing/);
    assertUnavailable(authorizer.authorize({ ...approve, resource: { ...approve.resource, proposerId: '' } }), /proposerId is missing/);
  });

  it('fails closed on a risk that is not a risk level', () => {
    const resource = { ...approve.resource, risk: 'negligible' as unknown as 'low' };
    assertUnavailable(authorizer.authorize({ ...approve, resource }), /risk/);
  });

  it('fails closed when the caller is also the resource but in another tenant', () => {
    const p = { ...approve.principal, groups: ['admin'] };
    const d = authorizer.authorize({ principal: p, action: 'principal.read', resource: { type: 'Principal', id: p.id, tenantId: 't2' } });
    assertUnavailable(d, /another tenant/);
  });

  it('names the policy ids and reasons of the forbids that denied', () => {
    const d = authorizer.authorize({ ...approve, principal: { ...approve.principal, id: 'bob' } });
    assert.deepEqual(d, {
      allow: false,
      code: 'POLICY_DENIED',
      reasons: ['The proposer of a plan cannot review it.'],
      policies: ['separation-of-duties'],
    });
  });
});

describe('CedarAuthorizer fails closed when the engine fails', () => {
  it('denies POLICY_UNAVAILABLE when the engine throws', () => {
    const { engine, breakWith } = switchableEngine();
    const authorizer = new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA, { engine });
    assert.equal(authorizer.authorize(approve).allow, true);
    breakWith(() => {
      throw new Error('wasm trap: unreachable');
    });
    // Any request the engine is asked about now is denied. (The one it answered before, and any
    // other plan of its shape, is answered from the authorizer's decisions: see the cache's tests.)
    const another = { ...approve, resource: { ...approve.resource, id: 'plan-2', environment: 'staging' } };
    assertUnavailable(authorizer.authorize(another), /wasm trap/);
  });

  it('denies POLICY_UNAVAILABLE when the engine answers failure', () => {
    const { engine, breakWith } = switchableEngine();
    const authorizer = new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA, { engine });
    breakWith(() => ({
      type: 'failure',
      errors: [{ message: 'preparsed policy set lost', help: null, code: null, url: null, severity: null }],
      warnings: [],
    }));
    assertUnavailable(authorizer.authorize(approve), /preparsed policy set lost/);
  });

  it('denies when an allow comes with a policy evaluation error (a skipped forbid)', () => {
    const { engine, breakWith } = switchableEngine();
    const authorizer = new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA, { engine });
    breakWith(() => ({
      type: 'success',
      warnings: [],
      response: {
        decision: 'allow',
        diagnostics: {
          reason: ['role-approvers'],
          errors: [
            {
              policyId: 'tenant-isolation',
              error: { message: 'entity does not exist', help: null, code: null, url: null, severity: null },
            },
          ],
        },
      },
    }));
    assertUnavailable(authorizer.authorize(approve), /tenant-isolation/);
  });

  it('denies on an allow that names no policy, or a corrupt answer', () => {
    const { engine, breakWith } = switchableEngine();
    const authorizer = new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA, { engine });
    breakWith(() => ({ type: 'success', warnings: [], response: { decision: 'allow', diagnostics: { reason: [], errors: [] } } }));
    assertUnavailable(authorizer.authorize(approve));
    breakWith(() => ({ type: 'success', warnings: [], response: null }) as unknown as ReturnType<CedarEngine['statefulIsAuthorized']>);
    assertUnavailable(authorizer.authorize(approve), /unreadable/);
    breakWith(
      () => ({ type: 'success', warnings: [], response: { decision: 'maybe', diagnostics: { reason: ['x'], errors: [] } } }) as never,
    );
    assertUnavailable(authorizer.authorize(approve), /maybe/);
  });

  it('refuses to load when the engine throws during loading', () => {
    const engine: CedarEngine = {
      ...cedar,
      preparsePolicySet: () => {
        throw new Error('out of memory');
      },
    };
    assertConfigInvalid(() => new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA, { engine }), /out of memory/);
  });
});

describe('CedarAuthorizer refuses an invalid policy set at construction', () => {
  it('refuses a policy that does not parse, naming it', () => {
    assertConfigInvalid(() => new CedarAuthorizer({ broken: 'permit(principal, action, resource' }, BASELINE_SCHEMA), /broken/);
  });

  it('refuses a policy failing strict validation, naming the policy, its file and the attribute', () => {
    const policies = { ...baselinePolicySet(), typo: 'permit(principal, action, resource) when { resource.tennant == "t1" };' };
    assertConfigInvalid(
      () => new CedarAuthorizer(policies, BASELINE_SCHEMA, { policyFiles: { typo: 'local.cedar' } }),
      /policy "typo" \(local\.cedar\).*tennant/,
    );
  });

  it('refuses an optional attribute read without `has` (it could error and skip a forbid)', () => {
    const policies = { guard: 'forbid(principal, action, resource) when { principal.kind == "agent" };' };
    assertConfigInvalid(() => new CedarAuthorizer(policies, BASELINE_SCHEMA), /optional attribute `kind`/);
  });

  it('refuses two policies under one id, and an @id that disagrees with its key', () => {
    assertConfigInvalid(
      () => new CedarAuthorizer({ two: 'permit(principal, action, resource); permit(principal, action, resource);' }, BASELINE_SCHEMA),
      /two/,
    );
    assertConfigInvalid(() => new CedarAuthorizer({ a: '@id("b") permit(principal, action, resource);' }, BASELINE_SCHEMA), /@id\("b"\)/);
  });

  it('refuses a schema that does not parse', () => {
    assertConfigInvalid(() => new CedarAuthorizer(baselinePolicySet(), 'namespace Countersign { entity }'), /policy schema/);
  });

  it('refuses a schema missing an action Countersign asks about', () => {
    const schema = BASELINE_SCHEMA.replace(/\n\s*action "trust\.change"[^\n]*/, '');
    assertConfigInvalid(() => new CedarAuthorizer(baselinePolicySet(), schema), /"trust\.change" is not declared/);
  });

  it('refuses a schema that does not accept the entities Countersign sends', () => {
    const schema = BASELINE_SCHEMA.replace('source?: String,', 'source?: Long,');
    assertConfigInvalid(() => new CedarAuthorizer(baselinePolicySet(), schema), /does not accept/);
  });

  it('accepts an empty policy set, which denies everything', () => {
    const authorizer = new CedarAuthorizer({}, BASELINE_SCHEMA);
    const d = authorizer.authorize(approve);
    assert.ok(!d.allow && d.code === 'POLICY_DENIED');
  });
});

describe('compiling a policy set', () => {
  /** The real engine, counting its strict validations (one per compilation). */
  function countingEngine(): { engine: CedarEngine; validations: () => number } {
    let n = 0;
    const engine: CedarEngine = {
      ...cedar,
      validate: (call) => {
        n++;
        return cedar.validate(call);
      },
    };
    return { engine, validations: () => n };
  }

  it('compiles a set once per process and engine; another text, file name or engine compiles again', () => {
    const { engine, validations } = countingEngine();
    const first = new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA, { engine });
    const again = new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA, { engine });
    assert.equal(validations(), 1);
    assert.deepEqual(again.authorize(approve), first.authorize(approve));
    assert.equal(again.authorize(approve).allow, true);

    const stricter = {
      ...baselinePolicySet(),
      'no-prod':
        'forbid(principal, action, resource is Countersign::Plan) when { resource has environment && resource.environment == "prod" };',
    };
    const changed = new CedarAuthorizer(stricter, BASELINE_SCHEMA, { engine });
    assert.equal(validations(), 2);
    assert.equal(changed.authorize(approve).allow, false, 'the changed text is what decides');
    new CedarAuthorizer(stricter, BASELINE_SCHEMA, { engine, policyFiles: { 'no-prod': 'local.cedar' } });
    assert.equal(validations(), 3);

    const other = countingEngine();
    new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA, { engine: other.engine });
    assert.equal(other.validations(), 1);
  });

  it('keeps no refusal: a set that failed is checked again, and fails again', () => {
    const { engine, validations } = countingEngine();
    const typo = { ...baselinePolicySet(), typo: 'permit(principal, action, resource) when { resource.tennant == "t1" };' };
    assertConfigInvalid(() => new CedarAuthorizer(typo, BASELINE_SCHEMA, { engine }), /tennant/);
    assertConfigInvalid(() => new CedarAuthorizer(typo, BASELINE_SCHEMA, { engine }), /tennant/);
    assert.equal(validations(), 2);
  });
});

describe('decisions the engine gave are kept', () => {
  /** The real engine, counting the authorization calls it answers. */
  function countingCalls(): {
    engine: CedarEngine;
    calls: () => number;
    breakWith: (fn: CedarEngine['statefulIsAuthorized'] | null) => void;
  } {
    let n = 0;
    let broken: CedarEngine['statefulIsAuthorized'] | null = null;
    const engine: CedarEngine = {
      ...cedar,
      statefulIsAuthorized: (call) => {
        n++;
        return (broken ?? cedar.statefulIsAuthorized)(call);
      },
    };
    return { engine, calls: () => n, breakWith: (fn) => (broken = fn) };
  }

  it('asks the engine once for the same input, and again for any other principal, group, resource or action', () => {
    const { engine, calls: all } = countingCalls();
    const authorizer = new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA, { engine });
    const loading = all(); // the probes compiling the set made
    const calls = () => all() - loading;
    const first = authorizer.authorize(approve);
    assert.equal(first.allow, true);
    assert.deepEqual(authorizer.authorize(approve), first);
    assert.equal(calls(), 1);

    const outsider = { ...approve, principal: { ...approve.principal, groups: ['viewers'] } };
    assert.equal(authorizer.authorize(outsider).allow, false, 'another group is decided, not served from the cache');
    const otherTenant = { ...approve, resource: { ...approve.resource, tenantId: 't2' } };
    assert.equal(authorizer.authorize(otherTenant).allow, false, "another tenant's plan is decided anew");
    const selfReview = { ...approve, resource: { ...approve.resource, proposerId: 'alice' } };
    assert.equal(authorizer.authorize(selfReview).allow, false, 'the proposer is part of the input');
    const read = { ...approve, action: 'plan.read' as const };
    authorizer.authorize(read);
    assert.equal(calls(), 5);
  });

  it('keeps no engine failure: a request that failed is asked again and decided when the engine answers', () => {
    const { engine, calls: all, breakWith } = countingCalls();
    const authorizer = new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA, { engine });
    const loading = all();
    const calls = () => all() - loading;
    breakWith(() => {
      throw new Error('wasm trap');
    });
    assertUnavailable(authorizer.authorize(approve), /wasm trap/);
    assertUnavailable(authorizer.authorize(approve), /wasm trap/);
    breakWith(null);
    assert.equal(authorizer.authorize(approve).allow, true);
    assert.equal(calls(), 3);
  });

  it('decides a new plan of a known shape without the engine: its id is not part of the key', () => {
    const { engine, calls: all } = countingCalls();
    const authorizer = new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA, { engine });
    const loading = all();
    const calls = () => all() - loading;
    const plan = (id: string) => ({ ...approve, resource: { ...approve.resource, id } });
    assert.equal(authorizer.authorize(plan('plan-a')).allow, true);
    assert.equal(authorizer.authorize(plan('plan-b')).allow, true);
    assert.equal(calls(), 1);
    // A denial no policy explains still names the plan it was asked about, not the first one.
    const viewer = (id: string) => ({ ...plan(id), principal: { ...approve.principal, groups: ['viewers'] } });
    const first = authorizer.authorize(viewer('plan-c'));
    const second = authorizer.authorize(viewer('plan-d'));
    assert.equal(calls(), 2);
    assert.ok(!first.allow && !second.allow);
    assert.match(first.reasons.join(' '), /"plan-c"/);
    assert.match(second.reasons.join(' '), /"plan-d"/);
    assert.doesNotMatch(second.reasons.join(' '), /plan-c/);
  });

  it('decides every plan on its own once any policy names a plan: a forbidden plan never gets a kept allow', () => {
    const named = {
      'in-scope': '@reason("plan-1 is frozen")\nforbid(principal, action, resource == Countersign::Plan::"plan-1");',
      'in-condition':
        '@reason("plan-9 is frozen")\nforbid(principal, action, resource) when { resource in [Countersign::Plan::"plan-9"] };',
    };
    for (const [name, text] of Object.entries(named)) {
      const { engine, calls: all } = countingCalls();
      const authorizer = new CedarAuthorizer({ ...baselinePolicySet(), [name]: text }, BASELINE_SCHEMA, { engine });
      const loading = all();
      const frozenId = name === 'in-scope' ? 'plan-1' : 'plan-9';
      // The cache is warmed with an allowed plan of exactly the same shape first.
      assert.equal(authorizer.authorize({ ...approve, resource: { ...approve.resource, id: 'plan-2' } }).allow, true, name);
      const attempt = authorizer.authorize({ ...approve, resource: { ...approve.resource, id: frozenId } });
      assert.equal(attempt.allow, false, `${name}: the named plan is denied`);
      assert.deepEqual(attempt.allow ? [] : attempt.policies, [name]);
      assert.equal(all() - loading, 2, `${name}: both asked of the engine`);
    }
  });

  it('keeps the exact input as the key when the id appears anywhere else in it, or the resource is a principal', () => {
    const types = new Set<string>();
    const key = (r: AuthzRequest) => decisionKey({ ...toCedarRequest(r), context: {} }, types);
    const plan = (id: string, proposerId = 'bob') => ({ ...approve, resource: { ...approve.resource, id, proposerId } });
    assert.equal(key(plan('plan-a')), key(plan('plan-b')));
    // The plan's id is also its proposer's id: renaming only the plan would change what Cedar sees.
    assert.notEqual(key(plan('same', 'same')), key(plan('other', 'other')));
    const onPrincipal = (id: string): AuthzRequest => ({
      ...approve,
      action: 'principal.read' as AuthzRequest['action'],
      resource: { type: 'Principal', id, tenantId: 't1' },
    });
    assert.notEqual(key(onPrincipal('p-1')), key(onPrincipal('p-2')));
    assert.notEqual(
      decisionKey({ ...toCedarRequest(plan('plan-a')), context: {} }, new Set(['Plan'])),
      decisionKey({ ...toCedarRequest(plan('plan-b')), context: {} }, new Set(['Plan'])),
    );
  });

  it('finds the entity types policies name, in scope, conditions and action lists', () => {
    const types = new Set<string>();
    for (const text of [
      'permit(principal == Countersign::Principal::"p-1", action in [Countersign::Action::"plan.read"], resource);',
      'forbid(principal, action, resource) when { resource.proposer == Countersign::Principal::"p-2" || resource in Countersign::Tenant::"t9" };',
      'permit(principal in Countersign::Group::"ops", action, resource is Countersign::Plan);',
    ]) {
      const json = cedar.policyToJson(text);
      assert.equal(json.type, 'success');
      if (json.type === 'success') collectEntityLiteralTypes(json.json, types);
    }
    for (const t of ['Countersign::Principal', 'Principal', 'Countersign::Action', 'Countersign::Tenant', 'Tenant', 'Countersign::Group'])
      assert.ok(types.has(t), t);
    assert.ok(!types.has('Countersign::Plan') && !types.has('Plan'), '`is` names a type, not an entity');
  });

  it('hands out decisions nobody can change for the next caller', () => {
    const authorizer = new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA);
    const d = authorizer.authorize(approve);
    assert.ok(d.allow);
    assert.throws(() => ((d as { allow: boolean }).allow = false));
    assert.throws(() => d.policies.push('injected'));
    const again = authorizer.authorize(approve);
    assert.ok(again.allow && !again.policies.includes('injected'));
  });
});

describe('DenyAllAuthorizer', () => {
  it('denies everything with POLICY_UNAVAILABLE and its reason', () => {
    assert.deepEqual(new DenyAllAuthorizer('policies/roles.cedar failed to load').authorize(approve), {
      allow: false,
      code: 'POLICY_UNAVAILABLE',
      reasons: ['policies/roles.cedar failed to load'],
    });
    assertUnavailable(new DenyAllAuthorizer().authorize(approve), /No policy set/);
  });
});
