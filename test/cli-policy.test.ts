// `countersign policy validate|test|diff`: local, pure checks of a policy set before it ships.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/cli.ts';
import { tempDir } from './support/server.ts';

const REQUESTS = `
tests:
  - name: agent cannot approve
    principal: { id: bot, tenant: t1, kind: agent, groups: [agent] }
    action: plan.approve
    resource: { type: Plan, id: p1, tenant: t1, environment: prod, risk: high, proposer: alice }
    expect: deny
  - name: approver approves another's plan
    principal: { id: bob, tenant: t1, kind: human, groups: [approvers] }
    action: plan.approve
    resource: { type: Plan, id: p1, tenant: t1, environment: prod, risk: high, proposer: alice }
    expect: allow
  - name: operator cancels a plan
    principal: { id: olga, tenant: t1, kind: human, groups: [operator] }
    action: plan.cancel
    resource: { type: Plan, id: p1, tenant: t1, environment: prod, risk: high, proposer: alice }
    expect: allow
`;

describe('countersign policy (local, no server)', () => {
  const root = tempDir('cs-cli-policy-');
  const dataDir = join(root, 'data');
  const requests = join(root, 'requests.yaml');

  /** A copy of the fresh data dir's policies, as a data dir (`<name>/policies`) or a bare policy dir. */
  const copyPolicies = (name: string, bare: boolean): string => {
    const target = join(root, name);
    cpSync(join(dataDir, 'policies'), bare ? target : join(target, 'policies'), { recursive: true });
    return target;
  };

  before(async () => {
    const init = await runCli(['init', '--dir', dataDir, '--json']);
    assert.equal(init.code, 0, init.stderr);
    writeFileSync(requests, REQUESTS);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('validate: OK on a fresh init; names the file of a syntax error and the canary an open permit lets through', async () => {
    const broken = copyPolicies('broken', false);
    writeFileSync(join(broken, 'policies', 'oops.cedar'), 'permit (principal, action\n');
    const open = copyPolicies('open-policies', true);
    writeFileSync(join(open, 'open.cedar'), 'permit(principal, action, resource);\n');

    const [ok, okJson, syntax, canary, help] = await Promise.all([
      runCli(['policy', 'validate', '--dir', dataDir]),
      runCli(['policy', 'validate', '--dir', join(dataDir, 'policies'), '--json']),
      runCli(['policy', 'validate', '--dir', broken]),
      runCli(['policy', 'validate', '--dir', open, '--json']),
      runCli(['policy', 'validate', '--help']),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^OK: \d+ policies in .*policies load, validate against the schema and deny every canary/);
    assert.equal(okJson.code, 0, okJson.stderr);
    const report = JSON.parse(okJson.stdout);
    assert.equal(report.ok, true);
    assert.ok(report.policies.includes('separation-of-duties'), report.policies.join(','));

    assert.equal(syntax.code, 3, syntax.stderr);
    assert.match(syntax.stderr, /oops\.cedar/);
    assert.match(syntax.stderr, /CONFIG_INVALID/);

    assert.equal(canary.code, 3, canary.stderr);
    const error = JSON.parse(canary.stderr).error;
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.match(error.message, /must always be denied: .*"principal with no group reads a plan"/);

    assert.equal(help.code, 0);
    assert.match(help.stdout, /Examples:/);
  });

  test('test: exit 0 when every decision is as expected, 1 with a FAIL row when one is not', async () => {
    const wrong = join(root, 'wrong.yaml');
    writeFileSync(wrong, REQUESTS.replace('expect: deny', 'expect: allow'));
    const invalid = join(root, 'invalid.yaml');
    writeFileSync(invalid, 'tests:\n  - name: typo\n    principal: { id: x, tenant: t1, kind: robot }\n');
    const [pass, fail, bad] = await Promise.all([
      runCli(['policy', 'test', requests, '--dir', dataDir]),
      runCli(['policy', 'test', wrong, '--dir', dataDir, '--json']),
      runCli(['policy', 'test', invalid, '--dir', dataDir]),
    ]);
    assert.equal(pass.code, 0, pass.stderr);
    assert.match(pass.stdout, /RESULT\s+EXPECT\s+GOT\s+TEST\s+WHY/);
    assert.match(pass.stdout, /pass\s+deny\s+deny\s+agent cannot approve\s+POLICY_DENIED: only human principals review/);
    assert.match(pass.stdout, /3 passed, 0 failed/);

    assert.equal(fail.code, 1, fail.stderr);
    const out = JSON.parse(fail.stdout);
    assert.equal(out.ok, false);
    assert.deepEqual(
      out.results.map((r: { name: string; pass: boolean }) => [r.name, r.pass]),
      [
        ['agent cannot approve', false],
        ["approver approves another's plan", true],
        ['operator cancels a plan', true],
      ],
    );

    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /tests\[0\] \("typo"\)/);
  });

  test('diff: lists the requests whose decision changes (exit 1) and exits 0 when none do', async () => {
    // The proposal under review: operators may no longer cancel plans.
    const proposed = copyPolicies('proposed', true);
    const roles = join(proposed, 'roles.cedar');
    const text = readFileSync(roles, 'utf8');
    assert.match(text, /Countersign::Action::"plan\.cancel",\n/);
    writeFileSync(roles, text.replace(/\s*Countersign::Action::"plan\.cancel",\n/, '\n'));

    const [changed, same] = await Promise.all([
      runCli(['policy', 'diff', dataDir, proposed, '--requests', requests]),
      runCli(['policy', 'diff', dataDir, join(dataDir, 'policies'), '--requests', requests, '--json']),
    ]);
    assert.equal(changed.code, 1, changed.stderr);
    assert.match(changed.stdout, /REQUEST\s+OLD\s+NEW/);
    assert.match(changed.stdout, /operator cancels a plan\s+allow\s+deny/);
    assert.doesNotMatch(changed.stdout, /agent cannot approve/);
    assert.match(changed.stdout, /1 request changes decision/);

    assert.equal(same.code, 0, same.stderr);
    assert.deepEqual(JSON.parse(same.stdout).changed, []);
  });
});
