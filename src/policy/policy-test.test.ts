import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CountersignError } from '../errors/index.ts';
import { CedarAuthorizer } from './cedar.ts';
import { baselinePolicySet } from './policy-dir.ts';
import { diffPolicies, runPolicyTests } from './policy-test.ts';
import { BASELINE_SCHEMA } from './schema.ts';

const baseline = new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA);

const TESTS = `
tests:
  - name: agent cannot approve
    principal: {id: p1, tenant: t1, kind: agent, groups: [agent]}
    action: plan.approve
    resource: {type: Plan, id: x, tenant: t1, environment: prod, risk: high, proposer: p2}
    expect: deny
  - name: approver approves someone else's plan
    principal: {id: p3, tenant: t1, kind: human, groups: [approvers]}
    action: plan.approve
    resource: {type: Plan, id: x, tenant: t1, environment: prod, risk: high, proposer: p2}
    expect: allow
  - name: auditor reads the audit log
    principal: {id: p4, tenant: t1, kind: human, groups: [auditor]}
    action: audit.read
    resource: {type: Tenant, id: t1, tenant: t1}
    expect: allow
`;

function assertValidationFailed(fn: () => unknown, pattern: RegExp): CountersignError {
  let caught: unknown;
  assert.throws(fn, (err: unknown) => {
    caught = err;
    return err instanceof CountersignError && err.code === 'VALIDATION_FAILED' && pattern.test(err.message);
  });
  return caught as CountersignError;
}

describe('runPolicyTests', () => {
  it('reports each test with its expected and actual decision and reasons', () => {
    const results = runPolicyTests(baseline, TESTS);
    assert.deepEqual(
      results.map((r) => [r.name, r.expected, r.actual, r.pass]),
      [
        ['agent cannot approve', 'deny', 'deny', true],
        ["approver approves someone else's plan", 'allow', 'allow', true],
        ['auditor reads the audit log', 'allow', 'allow', true],
      ],
    );
    assert.deepEqual(results[0]?.reasons, ['POLICY_DENIED: only human principals review plans']);
    assert.deepEqual(results[1]?.reasons, ['role-approvers']);
  });

  it('marks a test whose expectation is not met as failing', () => {
    const results = runPolicyTests(baseline, TESTS.replace('expect: deny', 'expect: allow'));
    assert.equal(results[0]?.pass, false);
    assert.equal(results[0]?.actual, 'deny');
  });

  it('names the test index, its name and the field of an invalid test', () => {
    const bad = TESTS.replace('kind: agent', 'kind: robot');
    const err = assertValidationFailed(() => runPolicyTests(baseline, bad), /tests\[0\] \("agent cannot approve"\)\.principal\.kind/);
    const issues = (err.details?.issues ?? []) as { index: number; field: string }[];
    assert.equal(issues[0]?.index, 0);
    assert.equal(issues[0]?.field, 'principal.kind');
  });

  it('refuses misspelt fields, unknown actions, bad risks and a missing expect', () => {
    assertValidationFailed(
      () => runPolicyTests(baseline, TESTS.replace('tenant: t1, kind: agent', 'tenantId: t1, kind: agent')),
      /tests\[0\].*tenant/,
    );
    assertValidationFailed(
      () => runPolicyTests(baseline, TESTS.replace('action: audit.read', 'action: audit.delete')),
      /tests\[2\].*\.action/,
    );
    assertValidationFailed(
      () =>
        runPolicyTests(
          baseline,
          TESTS.replace('risk: high, proposer: p2}\n    expect: allow', 'risk: huge, proposer: p2}\n    expect: allow'),
        ),
      /tests\[1\].*resource\.risk/,
    );
    assertValidationFailed(
      () => runPolicyTests(baseline, TESTS.replace('    expect: allow\n  - name: auditor', '  - name: auditor')),
      /tests\[1\].*expect/,
    );
  });

  it('refuses a file that is not YAML or has no tests', () => {
    assertValidationFailed(() => runPolicyTests(baseline, 'tests: [unclosed'), /not valid YAML/);
    assertValidationFailed(() => runPolicyTests(baseline, 'tests: []'), /tests/);
    assertValidationFailed(() => runPolicyTests(baseline, 'checks: []'), /checks|tests/);
  });
});

describe('diffPolicies', () => {
  it('lists the requests whose decision changes, and only those', () => {
    const loosened = new CedarAuthorizer(
      {
        ...baselinePolicySet(),
        'auditors-read-principals': `permit (principal in Countersign::Group::"auditor", action == Countersign::Action::"principal.read", resource);`,
      },
      BASELINE_SCHEMA,
    );
    const requests = `
tests:
  - name: auditor reads a principal
    principal: {id: p4, tenant: t1, kind: human, groups: [auditor]}
    action: principal.read
    resource: {type: Principal, id: p9, tenant: t1}
  - name: auditor reads a plan
    principal: {id: p4, tenant: t1, kind: human, groups: [auditor]}
    action: plan.read
    resource: {type: Plan, id: x, tenant: t1, proposer: p2}
`;
    const diff = diffPolicies(baseline, loosened, requests);
    assert.deepEqual(
      diff.map((d) => [d.name, d.before, d.after]),
      [['auditor reads a principal', 'deny', 'allow']],
    );
    assert.deepEqual(diff[0]?.afterReasons, ['auditors-read-principals']);
    assert.deepEqual(diffPolicies(loosened, baseline, requests)[0]?.after, 'deny');
    assert.deepEqual(diffPolicies(baseline, baseline, requests), []);
  });
});
