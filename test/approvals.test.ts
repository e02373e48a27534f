// Invariants 4 and 5 end to end: N-of-M countersigning bound to the plan hash, never by the proposer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { systemRuntime } from '../src/runtime.ts';
import { expireDuePlans } from '../src/server/sweeper.ts';
import { provisionTenant } from '../src/server/tenants.ts';
import { ENGINES } from './support/engines.ts';
import { addPrincipal } from './support/principals.ts';
import { rawSql } from './support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from './support/server.ts';

for (const engine of ENGINES) {
  describe(`approvals on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    let alice: { id: string; key: string };
    let bob: { id: string; key: string };
    let carol: { id: string; key: string };
    let agent: { id: string; key: string };
    const approve = (key: string, id: string, planHash: string, decision = 'approve') =>
      s.request('POST', `/v1/plans/${id}/approvals`, { key, body: { decision, planHash, comment: 'looks right' } });
    const propose = async (key: string, body: object) => {
      const r = await s.request('POST', '/v1/plans', { key, body });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { id: string; hash: string; status: string };
    };

    before(async () => {
      s = await startTestServer(engine);
      alice = await addPrincipal(s, 'alice', 'human', ['approvers']);
      bob = await addPrincipal(s, 'bob', 'human', ['approvers', 'operator']);
      carol = await addPrincipal(s, 'carol', 'human', ['operator']);
      agent = await addPrincipal(s, 'deploy-bot', 'agent', ['agent']);
    });
    after(async () => s?.close());

    test('prod needs two distinct approvers; the same person twice counts once', async () => {
      const plan = await propose(agent.key, echoPlan('restart', 'prod'));
      assert.equal(plan.status, 'pending_approval');
      let r = await approve(alice.key, plan.id, plan.hash);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.plan.status, 'pending_approval');
      assert.deepEqual(r.body.tally.missing, ['needs 1 more approval from group approvers']);
      r = await approve(alice.key, plan.id, plan.hash);
      assert.equal(r.body.plan.status, 'pending_approval');
      assert.equal(r.body.tally.requirements[0].have, 1);
      r = await approve(bob.key, plan.id, plan.hash);
      assert.equal(r.body.plan.status, 'approved');
      const shown = await s.request('GET', `/v1/plans/${plan.id}`);
      assert.equal(shown.body.status, 'approved');
      assert.equal(shown.body.approvals.length, 3);
      assert.equal(shown.body.tally.satisfied, true);
      assert.equal((await approve(bob.key, plan.id, plan.hash)).status, 409);
    });

    test('an agent key can propose but never approve', async () => {
      const plan = await propose(bob.key, echoPlan('x', 'staging'));
      const r = await approve(agent.key, plan.id, plan.hash);
      assert.equal(r.status, 403);
      const denied = await rawSql(s, "select details from audit_log where action = 'plan.approve' and outcome = 'denied' and actor = ?", [
        agent.id,
      ]);
      assert.ok(denied.length >= 1);
    });

    test('the proposer cannot approve their own plan', async () => {
      const plan = await propose(bob.key, echoPlan('mine', 'staging'));
      const r = await approve(bob.key, plan.id, plan.hash);
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'SELF_APPROVAL');
    });

    test('a reviewer outside the required groups is refused', async () => {
      const plan = await propose(agent.key, echoPlan('y', 'staging'));
      assert.equal((await approve(carol.key, plan.id, plan.hash)).status, 403);
    });

    test('an approval naming another hash is refused', async () => {
      const plan = await propose(agent.key, echoPlan('z', 'staging'));
      const r = await approve(alice.key, plan.id, 'f'.repeat(64));
      assert.equal(r.status, 409);
      assert.equal(r.body.error.code, 'PLAN_HASH_MISMATCH');
    });

    test('a plan whose stored content was edited cannot be approved', async () => {
      const plan = await propose(agent.key, echoPlan('original', 'staging'));
      const [row] = await rawSql(s, 'select document from plans where id = ?', [plan.id]);
      await rawSql(s, 'update plans set document = ? where id = ?', [row.document.replace('original', 'tampered'), plan.id]);
      const r = await approve(alice.key, plan.id, plan.hash);
      assert.equal(r.status, 409);
      assert.equal(r.body.error.code, 'PLAN_HASH_MISMATCH');
      assert.equal((await s.request('GET', `/v1/plans/${plan.id}`)).body.status, 'pending_approval');
    });

    test('one rejection by a required reviewer rejects', async () => {
      const plan = await propose(agent.key, echoPlan('no', 'prod'));
      assert.equal((await approve(alice.key, plan.id, plan.hash)).body.plan.status, 'pending_approval');
      const r = await approve(bob.key, plan.id, plan.hash, 'reject');
      assert.equal(r.body.plan.status, 'rejected');
      assert.equal((await approve(bob.key, plan.id, plan.hash)).status, 409);
    });

    test('low-risk dev plans are auto-approved, but never from a planner', async () => {
      assert.equal((await propose(agent.key, echoPlan('auto', 'dev'))).status, 'approved');
      const fromPlanner = await propose(agent.key, { ...echoPlan('auto', 'dev'), source: 'planner' });
      assert.equal(fromPlanner.status, 'pending_approval');
    });

    test('the inbox lists what the caller may still review', async () => {
      const plan = await propose(agent.key, echoPlan('inbox', 'staging'));
      let inbox = await s.request('GET', '/v1/approvals?status=pending', { key: bob.key });
      assert.ok(inbox.body.plans.some((p: { id: string }) => p.id === plan.id));
      assert.equal((await s.request('GET', '/v1/approvals', { key: carol.key })).body.plans.length, 0);
      assert.equal((await s.request('GET', '/v1/approvals', { key: agent.key })).body.plans.length, 0);
      await approve(bob.key, plan.id, plan.hash);
      inbox = await s.request('GET', '/v1/approvals', { key: bob.key });
      assert.ok(!inbox.body.plans.some((p: { id: string }) => p.id === plan.id));
    });

    test('a pending plan past its expiry cannot be approved and the sweeper expires it', async () => {
      const plan = await propose(agent.key, echoPlan('late', 'staging'));
      await rawSql(s, 'update plans set expires_at = ? where id = ?', ['2000-01-01T00:00:00.000Z', plan.id]);
      assert.equal((await approve(alice.key, plan.id, plan.hash)).status, 409);
      assert.ok((await expireDuePlans(s.ctx, s.init.tenantId)) >= 1);
      assert.equal((await s.request('GET', `/v1/plans/${plan.id}`)).body.status, 'expired');
    });

    test('approvals expire after the rule TTL', async () => {
      const plan = await propose(agent.key, echoPlan('stale', 'prod'));
      await approve(alice.key, plan.id, plan.hash);
      await rawSql(s, 'update approvals set created_at = ? where plan_id = ?', ['2000-01-01T00:00:00.000Z', plan.id]);
      const r = await approve(bob.key, plan.id, plan.hash);
      assert.equal(r.body.plan.status, 'pending_approval');
      assert.equal(r.body.tally.requirements[0].have, 1);
    });

    test('cancel moves a pending plan to cancelled, once', async () => {
      const plan = await propose(agent.key, echoPlan('cancel', 'staging'));
      const r = await s.request('POST', `/v1/plans/${plan.id}/cancel`, { key: bob.key, body: { reason: 'not needed' } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.status, 'cancelled');
      assert.equal((await s.request('POST', `/v1/plans/${plan.id}/cancel`, { key: bob.key, body: {} })).status, 409);
    });

    test("tenant B's keys cannot read, approve or cancel tenant A's plan", async () => {
      const plan = await propose(agent.key, echoPlan('isolated', 'staging'));
      const b = await provisionTenant(s.ctx.store, systemRuntime, `other-${engine.name}`);
      assert.equal((await approve(b.adminKey, plan.id, plan.hash)).status, 404);
      assert.equal((await s.request('POST', `/v1/plans/${plan.id}/cancel`, { key: b.adminKey, body: {} })).status, 404);
      assert.equal((await s.request('GET', `/v1/plans/${plan.id}`, { key: b.adminKey })).status, 404);
    });

    test('principals: agents cannot create principals; keys can be revoked', async () => {
      const r = await s.request('POST', '/v1/principals', { key: agent.key, body: { name: 'evil', kind: 'human', groups: ['admin'] } });
      assert.equal(r.status, 403);
      const k = await s.request('POST', `/v1/principals/${carol.id}/keys`, { body: { description: 'second' } });
      assert.equal(k.status, 201);
      assert.equal((await s.request('GET', '/v1/whoami', { key: k.body.key })).body.name, 'carol');
      assert.equal((await s.request('POST', `/v1/keys/${k.body.id}/revoke`)).status, 200);
      assert.equal((await s.request('GET', '/v1/whoami', { key: k.body.key })).status, 401);
      const listed = await s.request('GET', '/v1/principals');
      assert.ok(listed.body.principals.some((p: { name: string }) => p.name === 'deploy-bot'));
      assert.doesNotMatch(JSON.stringify(listed.body), /csk_/);
    });
  });
}

describe('separation of duties holds even when policy permits everything', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(ENGINES[0]!, { authorizer: { authorize: () => ({ allow: true, policies: ['permit-all'] }) } });
  });
  after(async () => s?.close());

  test('a human still cannot approve their own plan, and an agent still cannot approve', async () => {
    const alice = await addPrincipal(s, 'alice', 'human', ['approvers']);
    const bot = await addPrincipal(s, 'bot', 'agent', ['approvers']);
    const plan = (await s.request('POST', '/v1/plans', { key: alice.key, body: echoPlan('self', 'staging') })).body;
    const self = await s.request('POST', `/v1/plans/${plan.id}/approvals`, {
      key: alice.key,
      body: { decision: 'approve', planHash: plan.hash },
    });
    assert.equal(self.status, 403);
    assert.equal(self.body.error.code, 'SELF_APPROVAL');
    const byBot = await s.request('POST', `/v1/plans/${plan.id}/approvals`, {
      key: bot.key,
      body: { decision: 'approve', planHash: plan.hash },
    });
    assert.equal(byBot.status, 403);
  });
});

describe('a broken policy engine denies everything, reads included', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(ENGINES[0]!, {
      authorizer: {
        authorize: () => {
          throw new Error('engine crashed');
        },
      },
    });
  });
  after(async () => s?.close());

  test('propose, read and list are refused with 503 POLICY_UNAVAILABLE', async () => {
    for (const [method, path, body] of [
      ['POST', '/v1/plans', echoPlan()],
      ['GET', '/v1/plans', undefined],
      ['GET', '/v1/audit', undefined],
      ['GET', '/v1/principals', undefined],
    ] as const) {
      const r = await s.request(method, path, { body });
      assert.equal(r.status, 503, `${method} ${path}`);
      assert.equal(r.body.error.code, 'POLICY_UNAVAILABLE');
    }
  });
});
