// `countersign principal recover-admin`: the host operator, holding the data directory, gives the
// tenant admin a new key; every old admin key stops working at once, and the audit log says so.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/cli.ts';
import { ENGINES } from './support/engines.ts';
import { addPrincipal } from './support/principals.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const cli = (args: string[]) => runCli(args, { env: { COUNTERSIGN_DATABASE_URL: undefined } });

for (const engine of ENGINES) {
  describe(`principal recover-admin on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(engine);
    });
    after(async () => s?.close());

    const whoami = async (key: string) => (await s.request('GET', '/v1/whoami', { key })).status;

    test('an unknown tenant is refused and changes nothing', async () => {
      const r = await cli(['principal', 'recover-admin', '--dir', s.dir, '--tenant', 'nope']);
      assert.equal(r.code, 6, r.stderr);
      assert.match(r.stderr, /no tenant named "nope"/);
      assert.equal(await whoami(s.init.adminKey), 200);
    });

    test('revokes every admin key, enables the admin again, prints one new key that works, and is audited', async () => {
      // A second key of the admin, and the admin disabled by another admin: the worst case to recover from.
      const second = await s.request('POST', `/v1/principals/${s.init.adminPrincipalId}/keys`, { body: { description: 'laptop' } });
      assert.equal(second.status, 201, JSON.stringify(second.body));
      const other = await addPrincipal(s, 'admin2', 'human', ['admin']);
      const disabled = await s.request('POST', `/v1/principals/${s.init.adminPrincipalId}/disable`, { key: other.key });
      assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
      assert.equal(await whoami(s.init.adminKey), 401);

      // No URL on the command line: the directory knows its store.
      const r = await cli(['principal', 'recover-admin', '--dir', s.dir, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.principalId, s.init.adminPrincipalId);
      assert.equal(out.reenabled, true);
      assert.equal(out.revokedKeyIds.length, 2);
      assert.ok(out.revokedKeyIds.includes(second.body.id));

      assert.equal(await whoami(s.init.adminKey), 401, 'the old admin key still works');
      assert.equal(await whoami(second.body.key), 401, 'the second old admin key still works');
      const me = await s.request('GET', '/v1/whoami', { key: out.key });
      assert.equal(me.status, 200, JSON.stringify(me.body));
      assert.equal(me.body.principal?.id ?? me.body.id, s.init.adminPrincipalId);
      // The new key has the admin's rights, not just a login.
      assert.equal((await s.request('GET', '/v1/principals', { key: out.key })).status, 200);
      assert.equal(await whoami(other.key), 200, 'another admin is untouched');

      const verify = await cli(['audit', 'verify', '--dir', s.dir]);
      assert.equal(verify.code, 0, verify.stderr);
      const exported = await cli(['audit', 'export', '--dir', s.dir]);
      assert.equal(exported.code, 0, exported.stderr);
      const entries = exported.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((e) => e.type === 'entry');
      const recovery = entries.find((e) => e.action === 'principal.recover-admin');
      assert.ok(recovery, 'no principal.recover-admin entry');
      // A host operation: the host's system principal acts, the account that ran it is named.
      assert.equal(recovery.actor, 'system');
      assert.equal(recovery.outcome, 'allowed');
      assert.equal(recovery.resource, `principal:${s.init.adminPrincipalId}`);
      const details = typeof recovery.details === 'string' ? JSON.parse(recovery.details) : recovery.details;
      assert.match(details.operator, /^operator:local/);
      assert.equal(details.channel, 'host');
      assert.deepEqual([...details.revokedKeys].sort(), [...out.revokedKeyIds].sort());
      assert.equal(details.newKey, out.keyId);
      // Each revocation and the new key have their own entries, in the recovery's transaction.
      const same = entries.filter((e) => e.actor === 'system' && e.seq < recovery.seq && e.seq >= recovery.seq - 3);
      assert.equal(same.filter((e) => e.action === 'key.revoke').length, 2);
      assert.ok(same.some((e) => e.action === 'key.create' && e.resource === `key:${out.keyId}`));
      assert.ok(!r.stdout.includes(s.init.adminKey));
    });
  });
}
