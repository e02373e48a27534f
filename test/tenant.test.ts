// `countersign tenant add|list` (issue 16): a host operator provisions a tenant on the data
// directory — environments, an admin principal and its key in one audited transaction — and the
// running server serves the new admin at once; a taken name or a bad environment name is refused
// with nothing made. On both engines.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildProgram } from '../src/cli/main.ts';
import { ENGINES } from './support/engines.ts';
import { rawSql } from './support/raw-db.ts';
import { startTestServer, type TestServer } from './support/server.ts';

for (const engine of ENGINES) {
  describe(`countersign tenant on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    const cli = async (...args: string[]): Promise<string> => {
      const out: string[] = [];
      const db = s.databaseUrl ? ['--database-url', s.databaseUrl] : [];
      await buildProgram({ out: (t) => out.push(t), err: (t) => out.push(t), isTty: false }).parseAsync([...args, '--dir', s.dir, ...db], {
        from: 'user',
      });
      return out.join('\n');
    };
    before(async () => {
      s = await startTestServer(engine);
    });
    after(async () => s?.close());

    test('tenant add makes the tenant, its environments and an admin whose key the running server accepts; audited', async () => {
      const made = JSON.parse(await cli('tenant', 'add', 'acme', '--environments', 'dev,prod', '--json'));
      assert.equal(made.name, 'acme');
      assert.deepEqual(made.environments, ['dev', 'prod']);
      assert.match(made.adminKey, /^csk_/);
      const me = await s.request('GET', '/v1/whoami', { key: made.adminKey });
      assert.equal(me.status, 200);
      assert.equal(me.body.tenantId, made.tenantId);
      assert.deepEqual(me.body.groups, ['admin']);
      // The new admin sees its own tenant only: none of the default tenant's principals.
      const principals = await s.request('GET', '/v1/principals', { key: made.adminKey });
      assert.deepEqual(
        principals.body.principals.map((p: { name: string }) => p.name),
        ['admin'],
      );
      const [entry] = await rawSql(
        s,
        "select outcome, actor, tenant_id, details from audit_log where action = 'tenant.create' and tenant_id = ?",
        [made.tenantId],
      );
      assert.equal(entry?.outcome, 'allowed');
      assert.equal(entry?.actor, 'system');
      assert.equal(JSON.parse(String(entry?.details)).name, 'acme');
      assert.ok(!String(entry?.details).includes(made.adminKey), 'the key is never in the audit log');
    });

    test('the text output shows the key once with how to keep it; tenant list shows every tenant with its environments', async () => {
      const text = await cli('tenant', 'add', 'globex');
      assert.match(text, /Created tenant globex \(ten_[^)]+\) with environments dev, staging, prod\./);
      assert.match(text, /shown once/);
      const listed = JSON.parse(await cli('tenant', 'list', '--json'));
      assert.deepEqual(
        listed.tenants.map((t: { name: string; environments: { name: string }[] }) => [t.name, t.environments.map((e) => e.name)]),
        [
          ['acme', ['dev', 'prod']],
          ['default', ['dev', 'prod', 'staging']],
          ['globex', ['dev', 'prod', 'staging']],
        ],
      );
      assert.match(await cli('tenant', 'list'), /^NAME\s+ID\s+CREATED\s+ENVIRONMENTS/);
    });

    test('a taken name and a bad environment name are refused, and nothing is made', async () => {
      const before_ = await rawSql(s, 'select count(*) as n from tenants', []);
      await assert.rejects(
        cli('tenant', 'add', 'acme'),
        (e: Error & { code?: string }) => e.code === 'CONFLICT' && /"acme" already exists/.test(e.message),
      );
      await assert.rejects(cli('tenant', 'add', 'initech', '--environments', 'dev,Prod!'), { code: 'VALIDATION_FAILED' });
      await assert.rejects(cli('tenant', 'add', 'initech', '--environments', ' , '), { code: 'VALIDATION_FAILED' });
      assert.deepEqual(await rawSql(s, 'select count(*) as n from tenants', []), before_);
    });
  });
}
