import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CANARIES, checkCanaries } from './canaries.ts';
import { CedarAuthorizer, DenyAllAuthorizer } from './cedar.ts';
import { baselinePolicySet } from './policy-dir.ts';
import { BASELINE_SCHEMA } from './schema.ts';

function withExtra(extra: Record<string, string>, drop: readonly string[] = []): CedarAuthorizer {
  const policies = { ...baselinePolicySet(), ...extra };
  for (const id of drop) delete policies[id];
  return new CedarAuthorizer(policies, BASELINE_SCHEMA);
}

describe('canaries', () => {
  it('all pass on the baseline policy set', () => {
    assert.deepEqual(checkCanaries(new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA)), { ok: true });
  });

  it('have unique names', () => {
    assert.equal(new Set(CANARIES.map((c) => c.name)).size, CANARIES.length);
  });

  it('fail, naming the canary, when a permit-everything policy is added', () => {
    const result = checkCanaries(withExtra({ 'allow-all': 'permit(principal, action, resource);' }));
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.failed.includes('principal with no group reads a plan'), JSON.stringify(result));
    // The guardrail forbids still hold, so only the deny-by-default canaries fail.
    assert.ok(!result.ok && !result.failed.includes('agent approves a plan'));
    assert.ok(!result.ok && !result.failed.includes('proposer approves its own plan'));
  });

  it('fail for each guardrail that is removed', () => {
    const cases = [
      ['tenant-isolation', 'admin of tenant B reads a plan of tenant A'],
      ['only-humans-review', 'agent in every role approves a plan'],
      ['separation-of-duties', 'proposer approves its own plan'],
      ['separation-of-duties', 'approval of a plan with no known proposer'],
    ] as const;
    for (const [guardrail, canary] of cases) {
      const result = checkCanaries(withExtra({}, [guardrail]));
      assert.ok(!result.ok && result.failed.includes(canary), `${guardrail}: ${JSON.stringify(result)}`);
    }
  });

  it('pass on the deny-all authorizer and on an authorizer that throws (callers deny on a throw)', () => {
    assert.deepEqual(checkCanaries(new DenyAllAuthorizer()), { ok: true });
    const throwing = {
      authorize: () => {
        throw new Error('boom');
      },
    };
    assert.deepEqual(checkCanaries(throwing), { ok: true });
  });
});
