// Metrics of issue 15 and 16 on a real scrape of /metrics, read by the Prometheus project's own
// parser: LLM planner and model-reviewer calls (latency, input/output tokens, cost in US dollars
// at the configured prices, refusals by a fixed set of reasons) after driving the local fake
// model server, and the notification outbox's backlog (pending by channel, the oldest's age)
// after events are recorded and a channel fails. One server; the engine does not matter here.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { amPayload, configureAlerts, crashLabels, postAm, restartPlaybook, SECRETS } from './support/alerts.ts';
import { ENGINES } from './support/engines.ts';
import { type FakeModelServer, INJECTION, obedientModel, startFakeModelServer } from './support/fake-model.ts';
import { freePort } from './support/private-postgres.ts';
import { type Family, parsePrometheusText, sampleValue } from './support/prometheus.ts';
import { echoPlan, startTestServer, type TestServer } from './support/server.ts';

const sqlite = ENGINES[0]!;
const HOOK_SECRET = 'webhook-secret-for-metrics-tests';
const REVIEWED = 'planner: { model: planner }\nreviewers: { models: [rev1, rev2, rev3], require: 1 }\n';

function plannerAnswer(user: string): string {
  const env = /"environment": "([a-z0-9-]+)"/.exec(user)?.[1] ?? 'dev';
  return JSON.stringify({
    environment: env,
    steps: [{ template: 'restart', tool: 'kubectl', action: 'rollout-restart', input: { reason: 'restart after OOM kills' } }],
  });
}

describe('LLM and outbox metrics on a real scrape', { skip: sqlite.skip }, () => {
  let s: TestServer;
  let models: FakeModelServer;
  const scrape = async (): Promise<Family[]> => {
    const res = await fetch(`${s.url}/metrics`);
    assert.equal(res.status, 200);
    return parsePrometheusText(await res.text());
  };
  const fire = (alertname: string, deployment: string, annotations: Record<string, string> = {}) =>
    postAm(
      s,
      amPayload(`${alertname}-${deployment}`, [
        { alertname, fingerprint: `${deployment}-fp`, labels: crashLabels('dev', 'shop', deployment), annotations },
      ]),
    );

  before(async () => {
    models = await startFakeModelServer();
    models.script('fake-planner', (r) => plannerAnswer(r.user));
    models.script(
      'fake-obedient',
      obedientModel((r) => plannerAnswer(r.user)),
    );
    models.script('fake-rev1', () => '{"vote": "approve", "reason": "fits"}');
    models.script('fake-rev2', () => 'I would rather not say.');
    models.script('fake-rev3', () => {
      throw new Error('overloaded');
    });
    const closed = await freePort();
    s = await startTestServer(sqlite, {
      env: { ...process.env, ...SECRETS, CS_HOOK_SECRET: HOOK_SECRET },
      configure: (dir) => {
        configureAlerts(dir, models, {
          'reviewed.yaml': restartPlaybook('reviewed', 'ReviewedCrash', REVIEWED, 'planner: true'),
          'obey.yaml': restartPlaybook('obey', 'ObeyCrash', 'planner: { model: obedient }\n', 'planner: true'),
        });
        // A channel nobody answers, retried much later: its deliveries stay pending.
        writeFileSync(
          join(dir, 'notifications.yaml'),
          `channels:\n  ops: { type: webhook, url: "http://127.0.0.1:${closed}/hook", secret: env:CS_HOOK_SECRET }\nroutes:\n  - { channels: [ops] }\ndelivery: { backoffBaseMilliseconds: 600000, maxAttempts: 50, timeoutMilliseconds: 500 }\n`,
        );
      },
    });
  });
  after(async () => {
    await s?.close();
    await models?.close();
  });

  test('planner and reviewer calls: latency, tokens and cost at the configured prices, refusals by reason', async () => {
    const planned = await fire('ReviewedCrash', 'cart');
    assert.equal(planned.status, 202, JSON.stringify(planned.body));
    assert.ok(planned.body.proposed[0].planId, JSON.stringify(planned.body));
    const obeyed = await fire('ObeyCrash', 'obeyed', { description: INJECTION });
    assert.equal(obeyed.body.proposed[0].planId, undefined);

    const m = await scrape();
    const v = (name: string, labels: Record<string, string>) => sampleValue(m, name, labels);
    const planner = { role: 'planner', model: 'planner' };
    assert.equal(v('countersign_llm_request_duration_seconds_count', { ...planner, outcome: 'answered' }), 1);
    assert.ok((v('countersign_llm_request_duration_seconds_sum', { ...planner, outcome: 'answered' }) ?? -1) >= 0);
    const input = v('countersign_llm_input_tokens_total', planner) ?? 0;
    const output = v('countersign_llm_output_tokens_total', planner) ?? 0;
    assert.ok(input > 0 && output > 0);
    // configureAlerts prices every model at $3 per million input tokens and $15 per million output tokens.
    const cost = v('countersign_llm_cost_usd_total', planner) ?? -1;
    assert.ok(Math.abs(cost - Math.round(input * 3 + output * 15) / 1e6) < 1e-9, `cost ${cost} for ${input}/${output} tokens`);

    for (const model of ['rev1', 'rev2']) {
      assert.equal(v('countersign_llm_request_duration_seconds_count', { role: 'reviewer', model, outcome: 'answered' }), 1);
      assert.ok((v('countersign_llm_input_tokens_total', { role: 'reviewer', model }) ?? 0) > 0);
    }
    assert.equal(v('countersign_llm_request_duration_seconds_count', { role: 'reviewer', model: 'rev3', outcome: 'failed' }), 1);
    assert.equal(v('countersign_llm_refusals_total', { role: 'reviewer', model: 'rev2', reason: 'unparseable_answer' }), 1);
    assert.equal(v('countersign_llm_refusals_total', { role: 'reviewer', model: 'rev3', reason: 'model_unavailable' }), 1);
    assert.equal(v('countersign_llm_refusals_total', { role: 'planner', model: 'obedient', reason: 'output_refused' }), 1);
    assert.equal(v('countersign_llm_refusals_total', { role: 'reviewer', model: 'rev1' }), undefined, 'an approval is no refusal');

    const reasons = new Set(
      m.flatMap((f) => f.samples.filter((x) => x.name === 'countersign_llm_refusals_total').map((x) => x.labels.reason)),
    );
    for (const r of reasons)
      assert.ok(['budget_exhausted', 'model_unavailable', 'unparseable_answer', 'output_refused'].includes(r as string));
    const text = JSON.stringify(m);
    assert.ok(!text.includes(INJECTION) && !text.includes('fake-planner'), 'labels carry configured names, never text or upstream ids');
  });

  test('the outbox backlog: events not yet routed, then pending per channel with the oldest age', async () => {
    assert.ok(s.ctx.dispatcher, 'notifications are configured');
    const r = await s.request('POST', '/v1/plans', { body: echoPlan('notify', 'dev') });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    let m = await scrape();
    assert.ok((sampleValue(m, 'countersign_notification_outbox_pending', { channel: '_unrouted' }) ?? 0) >= 1);
    assert.ok((sampleValue(m, 'countersign_notification_outbox_oldest_age_seconds', { channel: '_unrouted' }) ?? -1) >= 0);

    await s.ctx.dispatcher.runOnce(); // fans out, tries the dead webhook once, schedules the retry far away
    m = await scrape();
    assert.equal(sampleValue(m, 'countersign_notification_outbox_pending', { channel: '_unrouted' }), 0);
    assert.equal(sampleValue(m, 'countersign_notification_outbox_oldest_age_seconds', { channel: '_unrouted' }), undefined);
    const pending = sampleValue(m, 'countersign_notification_outbox_pending', { channel: 'ops' }) ?? 0;
    assert.ok(pending >= 1, `ops pending: ${pending}`);
    assert.ok((sampleValue(m, 'countersign_notification_outbox_oldest_age_seconds', { channel: 'ops' }) ?? -1) >= 0);
  });

  test('the new families follow the naming rules: base units, _total counters, bounded labels', async () => {
    const m = await scrape();
    const ours = m.filter((f) => /^countersign_(llm|notification_outbox)_/.test(f.name));
    assert.deepEqual(ours.map((f) => `${f.name} ${f.type}`).sort(), [
      'countersign_llm_cost_usd counter',
      'countersign_llm_input_tokens counter',
      'countersign_llm_output_tokens counter',
      'countersign_llm_refusals counter',
      'countersign_llm_request_duration_seconds histogram',
      'countersign_notification_outbox_oldest_age_seconds gauge',
      'countersign_notification_outbox_pending gauge',
    ]);
    const labels = new Set(['role', 'model', 'outcome', 'reason', 'channel', 'le', 'process']);
    for (const f of ours) {
      assert.ok(f.help.length > 10, `${f.name} has help`);
      for (const x of f.samples) for (const l of Object.keys(x.labels)) assert.ok(labels.has(l), `${f.name}: label ${l}`);
      if (f.type === 'counter') assert.ok(f.samples.every((x) => x.name.endsWith('_total') || x.name.endsWith('_created')));
    }
  });
});
