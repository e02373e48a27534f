// Invariant 5 (distinct reviewers): a principal named `Alice` beside `alice` could fill two seats
// of one plan. Names are unique after case and look-alike folding, on both engines.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ENGINES } from '../support/engines.ts';
import { echoPlan, startTestServer, type TestServer } from '../support/server.ts';

for (const engine of ENGINES) {
  describe(`principal names on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(engine);
    });
    after(async () => s?.close());

    test('a name that reads the same as an existing one is refused', async () => {
      const first = await s.request('POST', '/v1/principals', { body: { name: 'alice', kind: 'human', groups: ['approvers'] } });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      for (const name of ['Alice', 'ALICE', 'a1ice', 'aIice']) {
        const r = await s.request('POST', '/v1/principals', { body: { name, kind: 'human', groups: ['approvers'] } });
        assert.equal(r.status, 409, `${name}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, 'CONFLICT');
        assert.match(r.body.error.message, /"alice" already exists/);
      }
      const other = await s.request('POST', '/v1/principals', { body: { name: 'alicia', kind: 'human', groups: ['approvers'] } });
      assert.equal(other.status, 201, 'a different name is fine');
      const names = (await s.request('GET', '/v1/principals')).body.principals.map((p: { name: string }) => p.name);
      assert.equal(names.filter((n: string) => n.toLowerCase() === 'alice').length, 1, 'the reviewer list shows alice once');
    });

    test('principals are named by name or id, and views show names beside ids', async () => {
      const bob = await s.request('POST', '/v1/principals', { body: { name: 'bob', kind: 'human', groups: ['approvers'] } });
      assert.equal(bob.status, 201);
      const byName = await s.request('POST', '/v1/principals/bob/keys', { body: { description: 'second key' } });
      assert.equal(byName.status, 201, JSON.stringify(byName.body));
      assert.equal(byName.body.principal, bob.body.id, 'the name resolved to the principal');
      assert.equal((await s.request('GET', '/v1/principals/bob/keys')).body.keys.length, 2);
      assert.equal((await s.request('POST', '/v1/principals/bob/disable')).body.disabled, true);
      assert.equal((await s.request('POST', '/v1/principals/bob/enable')).body.disabled, false);
      assert.equal((await s.request('POST', '/v1/principals/nobody/disable')).status, 404);
      const plan = await s.request('POST', '/v1/plans', { body: echoPlan('named') });
      assert.equal(plan.body.proposerName, 'admin');
      assert.equal((await s.request('GET', `/v1/plans/${plan.body.id}`)).body.proposerName, 'admin');
      const list = await s.request('GET', '/v1/plans');
      assert.ok(list.body.plans.every((p: { proposerName?: string }) => p.proposerName === 'admin'));
    });

    test('the reserved group "system" cannot be given to a principal', async () => {
      const r = await s.request('POST', '/v1/principals', { body: { name: 'sneaky', kind: 'human', groups: ['system'] } });
      assert.equal(r.status, 400);
      assert.match(r.body.error.message, /reserved/);
    });
  });
}
