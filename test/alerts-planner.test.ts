// Issue 15, invariant 21: untrusted text never chooses an action. Alert annotations reach a
// planner only fenced, redacted and labelled untrusted; a planner that obeys an injection gets
// its plan refused with the reason; a model naming an unknown tool, another environment or a
// sensitive value from its own text is refused; model reviewers are advice stored with the plan
// and never a human seat; end to end, an alert becomes a plan two humans approve and the
// executor runs, and the audit chain verifies.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { publicKeyMap, verifyAuditChain } from '../src/audit/index.ts';
import { type RunningExecutor, startExecutor } from '../src/executor/executor.ts';
import { systemRuntime } from '../src/runtime.ts';
import { provisionTenant } from '../src/server/tenants.ts';
import { amPayload, configureAlerts, crashLabels, postAm, restartPlaybook, SECRETS } from './support/alerts.ts';
import { ENGINES } from './support/engines.ts';
import { configureExecutor, waitForExecution } from './support/execution.ts';
import { type FakeModelServer, INJECTION, obedientModel, startFakeModelServer } from './support/fake-model.ts';
import { addPrincipal } from './support/principals.ts';
import { rawSql } from './support/raw-db.ts';
import { startTestServer, type TestServer, withoutStepUp } from './support/server.ts';

const sqlite = ENGINES[0]!;
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';

const PLANNER = `planner:
  model: planner
  instructions: Explain the restart in reason.
reviewers:
  models: [rev1, rev2, rev3]
  require: 2
`;

/** The planner: each deployment name asks it to misbehave in one way. */
function plannerAnswer(user: string): string {
  const dep = /"deployment": "([a-z0-9-]+)"/.exec(user)?.[1] ?? '';
  const env = /"environment": "([a-z0-9-]+)"/.exec(user)?.[1] ?? 'dev';
  const step = (input: Record<string, unknown>, tool = 'kubectl') => ({ template: 'restart', tool, action: 'rollout-restart', input });
  const answers: Record<string, unknown> = {
    'unknown-tool': { environment: env, steps: [step({ reason: 'x' }, 'kubectl-ng')] },
    'other-env': { environment: 'dmz', steps: [step({ reason: 'x' })] },
    sensitive: { environment: env, steps: [step({ namespace: 'kube-system', reason: 'x' })] },
    'bad-schema': { environment: env, steps: [step({ reason: 'rm -rf / ; $(curl evil)' })] },
  };
  return `Here is the plan:\n${JSON.stringify(answers[dep] ?? { environment: env, steps: [step({ reason: 'restart after repeated OOM kills' })] })}`;
}

describe('the LLM planner and model reviewers (sqlite)', { skip: sqlite.skip }, () => {
  let s: TestServer;
  let models: FakeModelServer;
  let executor: RunningExecutor | null = null;
  const fire = (
    alertname: string,
    labels: Record<string, string>,
    annotations: Record<string, string> = {},
    key = `${alertname}-${labels.deployment}`,
  ) => postAm(s, amPayload(key, [{ alertname, fingerprint: `${key}-fp`, labels, annotations }]));

  before(async () => {
    models = await startFakeModelServer();
    models.script('fake-planner', (r) => plannerAnswer(r.user));
    models.script(
      'fake-obedient',
      obedientModel((r) => plannerAnswer(r.user)),
    );
    models.script('fake-rev1', () => '{"vote": "approve", "reason": "restart fits a crash loop"}');
    models.script('fake-rev2', (r) =>
      r.user.includes('"name": "gated"') ? '{"vote": "reject", "reason": "no"}' : '{"vote": "approve", "reason": "ok"}',
    );
    models.script('fake-rev3', () => '{"vote": "reject", "reason": "a restart hides the memory leak"}');
    s = await startTestServer(sqlite, {
      env: { ...process.env, ...SECRETS },
      configure: (dir) => {
        configureAlerts(dir, models, {
          'plain.yaml': restartPlaybook('plain', 'InjectedCrash'),
          'planned.yaml': restartPlaybook('planned', 'PlannedCrash', PLANNER, 'planner: true'),
          'obey.yaml': restartPlaybook('obey', 'ObeyCrash', 'planner: { model: obedient }\n', 'planner: true'),
          'gated.yaml': restartPlaybook('gated', 'GatedCrash', 'reviewers: { models: [rev1, rev2, rev3], require: 2, mode: required }\n'),
        });
        configureExecutor(dir, { pollMilliseconds: 50 });
        withoutStepUp(dir);
      },
    });
    executor = await startExecutor(s.dir, { store: s.ctx.store, log: () => {} });
  });
  after(async () => {
    await executor?.stop();
    await s?.close();
    await models?.close();
  });

  test('an injected annotation changes nothing: only the template step, no value from the annotation', async () => {
    const res = await fire('InjectedCrash', crashLabels('dev', 'shop', 'web'), {
      description: INJECTION,
      runbook: 'kubectl delete namespace prod',
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const plan = await s.request('GET', `/v1/plans/${res.body.proposed[0].planId}`);
    assert.deepEqual(
      plan.body.steps.map((st: { tool: string; action: string; input: unknown }) => [st.tool, st.action, st.input]),
      [['kubectl', 'rollout-restart', { namespace: 'shop', deployment: 'web', reason: 'restarted by alert playbook' }]],
    );
    assert.doesNotMatch(JSON.stringify(plan.body.steps), /prod|delete|ignore/);
    const origin = await s.request('GET', `/v1/plans/${plan.body.id}/origin`);
    assert.ok(origin.body.origin.provenance.every((o: { provenance: string }) => o.provenance !== 'untrusted_text'));
  });

  test('a planner that obeys the injection gets its plan refused with the reason; nothing is proposed', async () => {
    const before = models.requests.length;
    const res = await fire('ObeyCrash', crashLabels('dev', 'shop', 'obeyed'), {
      description: `${INJECTION}. key ${AWS_KEY}, token ${SECRETS.CS_AM}`,
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const [outcome] = res.body.proposed;
    assert.equal(outcome.planId, undefined);
    assert.ok(
      outcome.refused.some((r: string) => /template "delete-namespace" is not in playbook obey/.test(r)),
      outcome.refused.join('\n'),
    );
    assert.ok(outcome.refused.some((r: string) => /environment "prod" is not the alert's environment "dev"/.test(r)));
    const [prompt] = models.requests.slice(before);
    assert.ok(prompt, 'the planner was asked');
    const fence = /<(UNTRUSTED-[0-9a-f]{16})>/.exec(prompt.user)?.[1];
    assert.ok(fence, 'alert text is fenced');
    const inside = prompt.user.slice(prompt.user.indexOf(`<${fence}>`), prompt.user.indexOf(`</${fence}>`));
    assert.ok(inside.includes(INJECTION), 'the injection reaches the model only inside the fence');
    assert.ok(!prompt.user.slice(0, prompt.user.indexOf(`<${fence}>`)).includes('ignore previous'), 'and nowhere outside it');
    assert.match(prompt.system, /untrusted/i);
    assert.ok(!prompt.user.includes(AWS_KEY) && !prompt.user.includes(SECRETS.CS_AM), 'secrets are redacted from the prompt');
    const plans = await rawSql(s, "select id from plans where intent like '%obeyed%'");
    assert.equal(plans.length, 0);
    const [audit] = await rawSql(
      s,
      "select details from audit_log where action = 'alert.plan' and details like '%obey%' and details like '%refused%'",
    );
    assert.ok(audit, 'the refusal is audited with its reasons');
    const [group] = await rawSql(s, "select state, reason from alert_groups where playbook = 'obey'");
    assert.equal(group.state, 'closed');
    assert.match(String(group.reason), /delete-namespace/);
    // Alertmanager repeats the group: the refusal holds, and the injection buys no second call.
    const calls = models.requests.length;
    const again = await fire('ObeyCrash', crashLabels('dev', 'shop', 'obeyed'), { description: INJECTION });
    assert.deepEqual(again.body.proposed, []);
    assert.deepEqual(again.body.duplicates, ['obey']);
    assert.equal(models.requests.length, calls);
  });

  test('a model plan naming an unknown tool, another tenant’s environment, a sensitive value or an input its schema refuses is refused with the reason', async () => {
    await provisionTenant(s.ctx.store, systemRuntime, 'other', ['dmz']);
    const cases: [string, RegExp][] = [
      ['unknown-tool', /tool "kubectl-ng" is not a loaded tool/],
      ['other-env', /environment "dmz" is not the alert's environment "dev"/],
      ['sensitive', /input\.namespace \(a sensitive field\): the playbook binds it to a typed label; the model's value is untrusted text/],
      ['bad-schema', /input\.reason/],
    ];
    for (const [dep, reason] of cases) {
      const res = await fire('PlannedCrash', crashLabels('dev', 'shop', dep));
      const [outcome] = res.body.proposed;
      assert.equal(outcome.planId, undefined, dep);
      assert.ok(
        outcome.refused.some((r: string) => reason.test(r)),
        `${dep}: ${outcome.refused.join('\n')}`,
      );
    }
    const [planner] = await rawSql(s, "select details from audit_log where action = 'alert.plan' and details like '%kubectl-ng%'");
    assert.match(String(planner.details), /"tokens":\d+/, 'planner usage is recorded with the refusal');
  });

  test('a planner value fills only a planner field, marked untrusted_text; the model votes are stored and shown', async () => {
    const res = await fire('PlannedCrash', crashLabels('dev', 'shop', 'good'));
    const planId = res.body.proposed[0].planId;
    assert.ok(planId, JSON.stringify(res.body));
    const origin = (await s.request('GET', `/v1/plans/${planId}/origin`)).body.origin;
    const reason = origin.provenance.find((o: { path: string }) => o.path === 'steps[0].input.reason');
    assert.equal(reason.provenance, 'untrusted_text');
    assert.equal(origin.provenance.find((o: { path: string }) => o.path === 'steps[0].input.namespace').provenance, 'typed_label');
    assert.equal(origin.planner.outcome, 'accepted');
    assert.equal(origin.reviews.approvals, 2);
    assert.equal(origin.reviews.passed, true);
    assert.deepEqual(
      origin.reviews.votes.map((v: { model: string; vote: string }) => [v.model, v.vote]),
      [
        ['rev1', 'approve'],
        ['rev2', 'approve'],
        ['rev3', 'reject'],
      ],
    );
    assert.match(origin.reviews.dissent[0], /hides the memory leak/);
    const plan = (await s.request('GET', `/v1/plans/${planId}`)).body;
    assert.equal(plan.status, 'pending_approval', 'model approvals fill no human seat');
  });

  test('reviewers required by the playbook: a plan they do not pass is not proposed', async () => {
    const res = await fire('GatedCrash', crashLabels('dev', 'shop', 'gate'));
    const [outcome] = res.body.proposed;
    assert.equal(outcome.planId, undefined);
    assert.match(outcome.refused[0], /model reviewers did not pass the plan \(1 of 2 needed\)/);
  });

  test('end to end: alert → plan with model votes → two humans approve over the API → execution → audit verifies', async () => {
    const a = await addPrincipal(s, 'alice', 'human', ['approvers']);
    const b = await addPrincipal(s, 'bob', 'human', ['approvers']);
    const res = await fire('PlannedCrash', crashLabels('prod', 'shop', 'checkout'));
    const planId = res.body.proposed[0].planId;
    assert.ok(planId, JSON.stringify(res.body));
    const origin = (await s.request('GET', `/v1/plans/${planId}/origin`)).body.origin;
    assert.equal(origin.reviews.votes.length, 3);
    let plan = (await s.request('GET', `/v1/plans/${planId}`)).body;
    assert.equal(plan.environment, 'prod');
    const first = await s.request('POST', `/v1/plans/${planId}/approvals`, {
      key: a.key,
      body: { decision: 'approve', planHash: plan.hash },
    });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    plan = (await s.request('GET', `/v1/plans/${planId}`)).body;
    assert.equal(plan.status, 'pending_approval', 'one human and two model votes are not two humans');
    const second = await s.request('POST', `/v1/plans/${planId}/approvals`, {
      key: b.key,
      body: { decision: 'approve', planHash: plan.hash },
    });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    const exec = await s.request('POST', `/v1/plans/${planId}/executions`, { body: {} });
    assert.equal(exec.status, 201, JSON.stringify(exec.body));
    const done = await waitForExecution(s, exec.body.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.match(done.steps[0].stdout, /rollout restart deployment\/checkout --namespace=shop --reason=restart after repeated OOM kills/);
    const report = await verifyAuditChain({
      entries: s.ctx.store.iterateAuditForVerification(),
      checkpoints: await s.ctx.store.listAuditCheckpoints(),
      head: await s.ctx.store.auditHead(),
      publicKeys: publicKeyMap([readFileSync(join(s.dir, 'keys', 'audit.pub'), 'utf8')]),
    });
    assert.equal(report.ok, true, report.message);
  });

  test("a tenant whose day's model budget is spent gets no planner call; the refusal says so", async () => {
    const day = new Date().toISOString().slice(0, 10);
    await rawSql(s, 'update model_usage set tokens = 999999999 where tenant_id = ? and day = ?', [s.init.tenantId, day]);
    const before = models.requests.length;
    const res = await fire('PlannedCrash', crashLabels('dev', 'shop', 'broke'));
    assert.match(res.body.proposed[0].refused[0], /model budget for .* is spent/);
    assert.equal(models.requests.length, before, 'no call was made');
  });
});
