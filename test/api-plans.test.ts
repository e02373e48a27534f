import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ENGINES } from './support/engines.ts';
import { echoPlan, startTestServer, type TestServer } from './support/server.ts';

for (const engine of ENGINES) {
  describe(`plans API on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(engine);
    });
    after(async () => s?.close());

    test('answers /healthz and /readyz without a key', async () => {
      assert.equal((await s.request('GET', '/healthz', { key: null })).status, 200);
      const ready = await s.request('GET', '/readyz', { key: null });
      assert.equal(ready.status, 200);
      assert.equal(ready.body.store, engine.name);
    });

    test('proposes a plan: 201 with id, hash, status and risk', async () => {
      const res = await s.request('POST', '/v1/plans', { body: echoPlan() });
      assert.equal(res.status, 201);
      assert.match(res.body.id, /^pln_/);
      assert.match(res.body.hash, /^[0-9a-f]{64}$/);
      // The baseline approval rules auto-approve low-risk dev plans from the API.
      assert.equal(res.body.status, 'approved');
      assert.match(res.body.statusReason, /auto-approved by rule dev-low-auto/);
      assert.equal(res.body.risk, 'low');
      const staging = await s.request('POST', '/v1/plans', { body: echoPlan('x', 'staging') });
      assert.equal(staging.body.status, 'pending_approval');
      assert.deepEqual(staging.body.approval.require, [{ group: 'approvers', count: 1 }]);
      assert.equal(res.headers.get('location'), `/v1/plans/${res.body.id}`);
      const got = await s.request('GET', `/v1/plans/${res.body.id}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.hash, res.body.hash);
      assert.deepEqual(got.body.steps[0].input, { message: 'hello' });
    });

    test('gives the same hash whatever the key order of the submitted JSON', async () => {
      const a = '{"intent":"order","environment":"dev","steps":[{"tool":"echo","action":"say","input":{"message":"x"}}]}';
      const b = '{"steps":[{"input":{"message":"x"},"action":"say","tool":"echo"}],"environment":"dev","intent":"order"}';
      const ra = await s.request('POST', '/v1/plans', { raw: a });
      const rb = await s.request('POST', '/v1/plans', { raw: b });
      assert.equal(ra.status, 201);
      assert.equal(rb.status, 201);
      assert.notEqual(ra.body.id, rb.body.id);
      assert.equal(ra.body.hash, rb.body.hash);
    });

    test('raises risk in prod from the steps, not the words', async () => {
      const calm = await s.request('POST', '/v1/plans', { body: { ...echoPlan('hi', 'prod'), intent: 'harmless, trivial, low risk' } });
      assert.equal(calm.status, 201);
      assert.equal(calm.body.risk, 'medium');
      const scary = await s.request('POST', '/v1/plans', {
        body: { ...echoPlan('hi', 'dev'), intent: 'DELETE PROD DATABASE critical!!!' },
      });
      assert.equal(scary.body.risk, 'low');
    });

    test('lists plans newest first with a cursor', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await s.request('POST', '/v1/plans', { body: echoPlan(`page ${i}`) })).status, 201);
      const first = await s.request('GET', '/v1/plans?limit=2');
      assert.equal(first.status, 200);
      assert.equal(first.body.plans.length, 2);
      assert.ok(first.body.nextCursor);
      const second = await s.request('GET', `/v1/plans?limit=2&cursor=${first.body.nextCursor}`);
      assert.equal(second.status, 200);
      const ids = new Set([...first.body.plans, ...second.body.plans].map((p: { id: string }) => p.id));
      assert.equal(ids.size, first.body.plans.length + second.body.plans.length);
      assert.ok(first.body.plans[0].createdAt >= first.body.plans[1].createdAt);
      assert.equal((await s.request('GET', '/v1/plans?cursor=garbage')).status, 400);
      assert.equal((await s.request('GET', '/v1/plans?status=nonsense')).status, 400);
    });

    test('pages the audit log by sequence', async () => {
      const page = await s.request('GET', '/v1/audit?limit=3');
      assert.equal(page.status, 200);
      assert.equal(page.body.entries.length, 3);
      const next = await s.request('GET', `/v1/audit?after=${page.body.next}&limit=3`);
      assert.ok(next.body.entries[0].seq > page.body.entries[2].seq);
      const propose = (await s.request('GET', '/v1/audit?limit=1000')).body.entries.find(
        (e: { action: string }) => e.action === 'plan.propose',
      );
      assert.equal(propose.outcome, 'allowed');
      assert.match(propose.code, /^CS1001I$/);
    });

    test('serves the OpenAPI document at /docs', async () => {
      const res = await s.request('GET', '/docs/json', { key: null });
      assert.equal(res.status, 200);
      assert.ok(res.body.paths['/v1/plans']);
    });
  });
}
