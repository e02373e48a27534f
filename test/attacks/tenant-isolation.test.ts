// Invariants 3 and 18: a valid id from another tenant finds nothing; context comes from the key.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { systemRuntime } from '../../src/runtime.ts';
import { provisionTenant } from '../../src/server/tenants.ts';
import { ENGINES } from '../support/engines.ts';
import { echoPlan, startTestServer, type TestServer } from '../support/server.ts';

for (const engine of ENGINES) {
  describe(`tenant isolation on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    let keyB: string;
    let tenantB: string;
    let planA: { id: string; hash: string };
    before(async () => {
      s = await startTestServer(engine);
      const b = await provisionTenant(s.ctx.store, systemRuntime, 'tenant-b');
      keyB = b.adminKey;
      tenantB = b.tenantId;
      planA = (await s.request('POST', '/v1/plans', { body: echoPlan('tenant A secret') })).body;
    });
    after(async () => s?.close());

    test("a plan id from tenant A is not found with tenant B's admin key", async () => {
      const res = await s.request('GET', `/v1/plans/${planA.id}`, { key: keyB });
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'NOT_FOUND');
      assert.doesNotMatch(JSON.stringify(res.body), /tenant A secret/);
    });

    test("tenant B's list and audit log hold nothing of tenant A", async () => {
      const plans = await s.request('GET', '/v1/plans', { key: keyB });
      assert.equal(plans.status, 200);
      assert.equal(plans.body.plans.length, 0);
      const audit = await s.request('GET', '/v1/audit?limit=1000', { key: keyB });
      assert.equal(audit.status, 200);
      assert.ok(audit.body.entries.length > 0);
      assert.ok(audit.body.entries.every((e: { resource: string }) => e.resource !== `plan:${planA.id}`));
    });

    test("tenant B cannot place a plan in tenant A by naming A's tenant in the body", async () => {
      const res = await s.request('POST', '/v1/plans', { key: keyB, body: { ...echoPlan(), tenant: s.init.tenantId } });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'CONTEXT_CONFLICT');
    });

    test("a plan proposed with B's key belongs to B whatever the body says", async () => {
      const res = await s.request('POST', '/v1/plans', { key: keyB, body: { ...echoPlan(), tenant: tenantB } });
      assert.equal(res.status, 201);
      assert.equal((await s.request('GET', `/v1/plans/${res.body.id}`)).status, 404);
      assert.equal((await s.request('GET', `/v1/plans/${res.body.id}`, { key: keyB })).status, 200);
    });
  });
}
