// Issue: one owner for the plan's lifecycle. The API and the executor call the same lifecycle
// checks, so a plan tampered with between steps is refused with the same code by both; the
// columns that repeat facts of the hashed document are sealed by it (invariant 20); and a
// refusal for any reason is audited `denied` with a stable code, from every interface.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type RunningExecutor, startExecutor } from '../src/executor/executor.ts';
import { runCli } from './support/cli.ts';
import { ENGINES } from './support/engines.ts';
import { configureExecutor, waitForEvent, waitForExecution } from './support/execution.ts';
import { call, textOf } from './support/mcp.ts';
import { addPrincipal } from './support/principals.ts';
import { rawSql } from './support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from './support/server.ts';
import { writeTestTools } from './support/tools.ts';

const twoSteps = (message: string) => ({
  intent: 'sleep, then speak',
  environment: 'dev',
  steps: [
    { tool: 'sleep', action: 'wait', input: { seconds: 1 } },
    { tool: 'echo', action: 'say', input: { message } },
  ],
});

for (const engine of ENGINES) {
  describe(`the plan lifecycle on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    let executor: RunningExecutor | null = null;
    const denials = (action: string, code: string) =>
      rawSql(s, "select details from audit_log where action = ? and outcome = 'denied'", [action]).then((rows) =>
        rows.map((r) => JSON.parse(String(r.details))).filter((d) => d.code === code),
      );
    const propose = async (body: object, key?: string) => {
      const r = await s.request('POST', '/v1/plans', { body, key });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { id: string; hash: string; status: string };
    };

    before(async () => {
      s = await startTestServer(engine, {
        configure: (dir) => {
          writeTestTools(dir);
          configureExecutor(dir, { pollMilliseconds: 50 });
        },
      });
      executor = await startExecutor(s.dir, { store: s.ctx.store, log: () => {} });
    });
    after(async () => {
      await executor?.stop();
      await s?.close();
    });

    test('a plan edited between steps is refused by the executor and by the API with the same code', async () => {
      const running = await propose(twoSteps('between'));
      const exec = await s.request('POST', `/v1/plans/${running.id}/executions`, { body: {} });
      assert.equal(exec.status, 201, JSON.stringify(exec.body));
      await waitForEvent(s, exec.body.id, 'step.started');
      const [row] = await rawSql(s, 'select document from plans where id = ?', [running.id]);
      await rawSql(s, 'update plans set document = ? where id = ?', [String(row.document).replace('between', 'tampered'), running.id]);
      const done = await waitForExecution(s, exec.body.id);
      assert.equal(done.status, 'failed', JSON.stringify(done));
      assert.equal(done.steps[0].status, 'succeeded');
      assert.equal(done.steps[1].status, 'failed');
      assert.match(done.steps[1].error, /\[PLAN_HASH_MISMATCH\]/);
      const fromExecutor = await denials('execution.step', 'PLAN_HASH_MISMATCH');
      assert.equal(fromExecutor.length, 1, 'the executor audited its refusal with the code');

      const waiting = await propose(echoPlan('before'));
      const [w] = await rawSql(s, 'select document from plans where id = ?', [waiting.id]);
      await rawSql(s, 'update plans set document = ? where id = ?', [String(w.document).replace('before', 'after!'), waiting.id]);
      for (const path of [`/v1/plans/${waiting.id}/grants`, `/v1/plans/${waiting.id}/executions`]) {
        const r = await s.request('POST', path, { body: {} });
        assert.equal(r.status, 409, path);
        assert.equal(r.body.error.code, 'PLAN_HASH_MISMATCH', path);
      }
      assert.equal((await denials('plan.execute', 'PLAN_HASH_MISMATCH')).length, 2, 'the API audited both refusals with the code');
    });

    for (const [column, value] of [
      ['environment', 'prod'],
      ['proposer_id', 'prn_somebody_else'],
      ['source', 'webhook'],
    ] as const) {
      test(`an approved plan whose ${column} column was edited in the database does not run`, async () => {
        const p = await propose(echoPlan(`sealed ${column}`));
        assert.equal(p.status, 'approved');
        await rawSql(s, `update plans set ${column} = ? where id = ?`, [value, p.id]);
        const r = await s.request('POST', `/v1/plans/${p.id}/executions`, { body: {} });
        assert.equal(r.status, 409, JSON.stringify(r.body));
        assert.equal(r.body.error.code, 'PLAN_HASH_MISMATCH');
        assert.match(r.body.error.message, new RegExp(`stored ${column.replace('_id', '')}`));
        assert.equal((await rawSql(s, 'select id from executions where plan_id = ?', [p.id])).length, 0);
      });
    }

    test('a refusal for any reason is audited denied with its code, from the API, MCP and the CLI', async () => {
      const alice = await addPrincipal(s, `alice-${engine.name}`, 'human', ['approvers', 'operator']);
      const bot = await addPrincipal(s, `bot-${engine.name}`, 'agent', ['agent']);
      // Policy: an agent reviewing.
      const pending = await propose(echoPlan('review me', 'staging'));
      const byAgent = await s.request('POST', `/v1/plans/${pending.id}/approvals`, {
        key: bot.key,
        body: { decision: 'approve', planHash: pending.hash },
      });
      assert.equal(byAgent.status, 403);
      assert.ok((await denials('plan.approve', 'POLICY_DENIED')).length >= 1);
      // Separation of duties: the proposer reviewing.
      const own = await propose(echoPlan('my own', 'staging'), alice.key).catch(() => null);
      if (own) {
        const self = await s.request('POST', `/v1/plans/${own.id}/approvals`, {
          key: alice.key,
          body: { decision: 'approve', planHash: own.hash },
        });
        assert.equal(self.body.error.code, 'SELF_APPROVAL');
        assert.ok((await denials('plan.approve', 'SELF_APPROVAL')).length >= 1);
      }
      // Expiry.
      await rawSql(s, 'update plans set expires_at = ? where id = ?', ['2000-01-01T00:00:00.000Z', pending.id]);
      const late = await s.request('POST', `/v1/plans/${pending.id}/approvals`, {
        key: alice.key,
        body: { decision: 'approve', planHash: pending.hash },
      });
      assert.equal(late.body.error.code, 'PLAN_EXPIRED');
      assert.equal((await denials('plan.approve', 'PLAN_EXPIRED')).length, 1);
      // Freeze, from three interfaces: each refusal names its channel.
      const approved = await propose(echoPlan('frozen'));
      assert.equal((await s.request('POST', '/v1/freeze', { body: { environment: 'dev', reason: 'lifecycle test' } })).status, 200);
      try {
        const api = await s.request('POST', `/v1/plans/${approved.id}/executions`, { body: {} });
        assert.equal(api.body.error.code, 'FROZEN');
        const transport = new StreamableHTTPClientTransport(new URL(`${s.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${bot.key}` } },
        });
        const mcp = new Client({ name: 'lifecycle-test', version: '1.0.0' });
        await mcp.connect(transport);
        try {
          const r = await call(mcp, 'execute_plan', { planId: approved.id });
          assert.equal(r.isError, true);
          assert.match(textOf(r), /\[FROZEN\]/);
        } finally {
          await mcp.close();
        }
        const cli = await runCli(['execute', approved.id, '--server', s.url], { env: { COUNTERSIGN_TOKEN: s.init.adminKey } });
        assert.notEqual(cli.code, 0);
        assert.match(cli.stderr, /frozen/);
        const channels = (await denials('plan.execute', 'FROZEN')).map((d) => d.channel).sort();
        assert.deepEqual(channels, ['api', 'cli', 'mcp']);
      } finally {
        await s.request('POST', '/v1/unfreeze', { body: { environment: 'dev' } });
      }
    });
  });
}
