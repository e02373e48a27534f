// Invariant 20: someone who can write the database but holds none of the server's keys cannot
// make anything run that the humans did not approve. Each fact the decision to run depends on
// is edited, inserted or deleted directly in SQLite and PostgreSQL; nothing runs, and each
// refusal names what was wrong.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../support/cli.ts';
import { ENGINES } from '../support/engines.ts';
import { addPrincipal } from '../support/principals.ts';
import { rawSql } from '../support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from '../support/server.ts';

for (const engine of ENGINES) {
  describe(`a database writer without the server's keys, on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    let alice: { id: string; key: string };
    let n = 0;
    const propose = async (environment: string) => {
      const r = await s.request('POST', '/v1/plans', { body: echoPlan(`db writer ${n++}`, environment) });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { id: string; hash: string; status: string };
    };
    const approve = async (p: { id: string; hash: string }) => {
      const r = await s.request('POST', `/v1/plans/${p.id}/approvals`, { key: alice.key, body: { decision: 'approve', planHash: p.hash } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    };
    /** Tries both ways to run a plan; neither may create an execution. */
    const refusedToRun = async (planId: string, code: string) => {
      for (const path of [`/v1/plans/${planId}/grants`, `/v1/plans/${planId}/executions`]) {
        const r = await s.request('POST', path, { body: {} });
        assert.ok(r.status >= 400, `${path} must be refused: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, code, `${path}: ${JSON.stringify(r.body)}`);
      }
      assert.deepEqual(await rawSql(s, 'select id from executions where plan_id = ?', [planId]), []);
    };

    before(async () => {
      s = await startTestServer(engine);
      alice = await addPrincipal(s, 'alice', 'human', ['approvers']);
    });
    after(async () => s?.close());

    test('a pending plan set to approved in the database does not run', async () => {
      const p = await propose('staging');
      await rawSql(s, "update plans set status = 'approved' where id = ?", [p.id]);
      await refusedToRun(p.id, 'APPROVALS_UNSATISFIED');
    });

    test('an approval requirement rewritten to auto-approve does not run', async () => {
      const p = await propose('staging');
      const auto = JSON.stringify({ require: [], ttlHours: 0, autoApproved: true, rules: ['forged'] });
      await rawSql(s, "update plans set status = 'approved', approval = ? where id = ?", [auto, p.id]);
      await refusedToRun(p.id, 'SEAL_INVALID');
    });

    test('a lowered risk, a moved expiry or a removed seal does not run', async () => {
      for (const [column, value] of [
        ['risk', 'critical'],
        ['expires_at', '2999-01-01T00:00:00.000Z'],
        ['seal', null],
        ['risk_reasons', '[]'],
      ] as const) {
        const p = await propose('dev');
        assert.equal(p.status, 'approved');
        await rawSql(s, `update plans set ${column} = ? where id = ?`, [value, p.id]);
        await refusedToRun(p.id, 'SEAL_INVALID');
      }
    });

    test('a review inserted in the database, or moved from another plan, does not count', async () => {
      const approved = await propose('staging');
      await approve(approved);
      const target = await propose('staging');
      const [row] = await rawSql(s, 'select * from approvals where plan_id = ?', [approved.id]);
      // A copy of a real, sealed review, pointed at another plan with that plan's hash.
      await rawSql(
        s,
        'insert into approvals (id, tenant_id, plan_id, reviewer_id, reviewer_groups, decision, plan_hash, comment, channel, created_at, seal) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
          'apr_forged',
          row.tenant_id,
          target.id,
          row.reviewer_id,
          row.reviewer_groups,
          'approve',
          target.hash,
          '',
          'api',
          row.created_at,
          row.seal,
        ],
      );
      await rawSql(s, "update plans set status = 'approved' where id = ?", [target.id]);
      await refusedToRun(target.id, 'SEAL_INVALID');
    });

    test('a review edited in the database (reviewer, decision, hash, groups, time) is refused', async () => {
      for (const [column, value] of [
        ['reviewer_id', 'prn_nobody'],
        ['decision', 'reject'],
        ['reviewer_groups', '["approvers","admin"]'],
        ['created_at', '2999-01-01T00:00:00.000Z'],
      ] as const) {
        const p = await propose('staging');
        await approve(p);
        await rawSql(s, `update approvals set ${column} = ? where plan_id = ?`, [value, p.id]);
        await refusedToRun(p.id, 'SEAL_INVALID');
      }
    });

    test('an approved plan whose review was deleted does not run', async () => {
      const p = await propose('staging');
      await approve(p);
      await rawSql(s, 'delete from approvals where plan_id = ?', [p.id]);
      await refusedToRun(p.id, 'APPROVALS_UNSATISFIED');
    });

    test('doctor names the plans whose seals fail', async () => {
      const p = await propose('staging');
      await rawSql(s, "update plans set approval = ? where id = ?", ['{"require":[],"ttlHours":0,"autoApproved":true,"rules":[]}', p.id]);
      const args = ['doctor', '--dir', s.dir, '--json', ...(s.databaseUrl ? ['--database-url', s.databaseUrl] : [])];
      const r = await runCli(args);
      const report = JSON.parse(r.stdout);
      const seals = report.checks.find((c: { control: string }) => c.control.includes('sealed by the server'));
      assert.ok(seals, r.stdout);
      assert.equal(seals.result, 'FAIL');
      assert.match(seals.evidence, new RegExp(`${p.id} \\(SEAL_INVALID\\)`));
    });

    test('the same plan, untouched, runs: the refusals above come from the edits', async () => {
      const p = await propose('staging');
      await approve(p);
      const r = await s.request('POST', `/v1/plans/${p.id}/executions`, { body: {} });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    });
  });
}
