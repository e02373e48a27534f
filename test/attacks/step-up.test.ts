// Step-up has no weaker path (issues 13, 14): a plan whose approval needs a security key is
// approved in the console, where WebAuthn signs its hash, and nowhere else. A reviewer with a
// valid API key in the right group is refused over the API and the CLI, a body cannot claim a
// step-up, and every refusal is audited. (The console's own path: test/console-browser.test.ts.)
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseDocument } from 'yaml';
import { runCli } from '../support/cli.ts';
import { ENGINES } from '../support/engines.ts';
import { addPrincipal } from '../support/principals.ts';
import { rawSql } from '../support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from '../support/server.ts';

const sqlite = ENGINES.find((e) => e.name === 'sqlite');

function setConsole(dir: string, values: Record<string, unknown>): void {
  const file = join(dir, 'countersign.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  for (const [k, v] of Object.entries(values)) doc.setIn(['console', k], v);
  writeFileSync(file, doc.toString());
}

describe('step-up is asked on every channel', () => {
  let s: TestServer;
  let off: TestServer;
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };

  before(async () => {
    assert.ok(sqlite);
    // prod plans of the echo tool are medium risk: make prod medium need step-up here.
    s = await startTestServer(sqlite, {
      configure: (dir) =>
        setConsole(dir, { stepUp: { risks: ['high', 'critical'], environments: { prod: ['medium', 'high', 'critical'] } } }),
    });
    alice = await addPrincipal(s, 'alice', 'human', ['approvers']);
    bob = await addPrincipal(s, 'bob', 'human', ['approvers']);
    off = await startTestServer(sqlite, {
      configure: (dir) => setConsole(dir, { enabled: false, stepUp: { risks: ['medium', 'high', 'critical'], environments: {} } }),
    });
  });
  after(async () => {
    await s?.close();
    await off?.close();
  });

  const propose = async (server: TestServer, environment: string) => {
    const res = await server.request('POST', '/v1/plans', { body: echoPlan(`step-up ${environment}`, environment) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string; hash: string; risk: string };
  };

  test('an API key in the right group cannot approve a plan that needs step-up; the refusal is audited', async () => {
    const plan = await propose(s, 'prod');
    assert.equal(plan.risk, 'medium');
    const res = await s.request('POST', `/v1/plans/${plan.id}/approvals`, {
      key: alice.key,
      body: { decision: 'approve', planHash: plan.hash },
    });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'STEP_UP_REQUIRED');
    assert.match(res.body.error.message, /approve it in the console/);
    const audited = await rawSql(
      s,
      "select actor, details from audit_log where action = 'plan.approve' and outcome = 'denied' and resource = ?",
      [`plan:${plan.id}`],
    );
    assert.equal(audited.length, 1);
    assert.equal(audited[0].actor, alice.id);
    assert.equal(JSON.parse(audited[0].details).code, 'STEP_UP_REQUIRED');
    assert.equal((await s.request('GET', `/v1/plans/${plan.id}`)).body.status, 'pending_approval');
    assert.equal((await rawSql(s, 'select count(*) as n from approvals where plan_id = ?', [plan.id]))[0].n, 0);
  });

  test('a request body cannot claim a step-up', async () => {
    const plan = await propose(s, 'prod');
    for (const claim of [{ stepUp: { planHash: plan.hash, keyId: 'forged' } }, { attested: true }, { channel: 'web' }]) {
      const res = await s.request('POST', `/v1/plans/${plan.id}/approvals`, {
        key: bob.key,
        body: { decision: 'approve', planHash: plan.hash, ...claim },
      });
      assert.equal(res.status, 400, JSON.stringify(res.body));
    }
    // Console-style headers on the API route change nothing either.
    const res = await s.request('POST', `/v1/plans/${plan.id}/approvals`, {
      key: bob.key,
      body: { decision: 'approve', planHash: plan.hash },
      headers: { origin: s.url, 'sec-fetch-site': 'same-origin', 'x-csrf-token': 'x' },
    });
    assert.equal(res.status, 403);
  });

  test('the CLI is refused with the way forward; rejecting needs no step-up; other plans approve as before', async () => {
    const plan = await propose(s, 'prod');
    const env = { COUNTERSIGN_SERVER: s.url, COUNTERSIGN_TOKEN: alice.key };
    const cli = await runCli(['approve', plan.id, '--yes'], { env });
    assert.equal(cli.code, 5, cli.stdout + cli.stderr);
    assert.match(cli.stderr, /needs a security-key step-up to approve: approve it in the console/);
    assert.match(cli.stderr, /STEP_UP_REQUIRED/);
    // Saying no is never the risky direction.
    const reject = await s.request('POST', `/v1/plans/${plan.id}/approvals`, {
      key: bob.key,
      body: { decision: 'reject', planHash: plan.hash, comment: 'not now' },
    });
    assert.equal(reject.status, 201, JSON.stringify(reject.body));
    const staging = await propose(s, 'staging');
    const ok = await s.request('POST', `/v1/plans/${staging.id}/approvals`, {
      key: alice.key,
      body: { decision: 'approve', planHash: staging.hash },
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.plan.status, 'approved');
  });

  test('with the console disabled, a plan that needs step-up is refused with how to fix it, not let through', async () => {
    const reviewer = await addPrincipal(off, 'carol', 'human', ['approvers']);
    const plan = await propose(off, 'staging');
    const risky = await propose(off, 'prod');
    assert.equal(risky.risk, 'medium');
    const res = await off.request('POST', `/v1/plans/${risky.id}/approvals`, {
      key: reviewer.key,
      body: { decision: 'approve', planHash: risky.hash },
    });
    assert.equal(res.status, 403);
    assert.match(res.body.error.message, /the console .*is disabled: enable `console` or change `console.stepUp`/);
    const low = await off.request('POST', `/v1/plans/${plan.id}/approvals`, {
      key: reviewer.key,
      body: { decision: 'approve', planHash: plan.hash },
    });
    assert.equal(low.status, 201);
  });
});
