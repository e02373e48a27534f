// Invariants 4, 7 and 8: grants are verified against pinned keys, bound to one plan at one hash,
// single use, revocable, and everything is re-checked before every step.
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { type RunningExecutor, startExecutor } from '../../src/executor/executor.ts';
import { loadGrantSigningKey, mintGrant } from '../../src/grants/index.ts';
import { ENGINES } from '../support/engines.ts';
import { rawSql } from '../support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from '../support/server.ts';
import { writeTestTools } from '../support/tools.ts';

const TERMINAL = ['succeeded', 'failed', 'rolled_back', 'needs_attention'];

function fastExecutorConfig(dir: string): void {
  writeTestTools(dir);
  const file = join(dir, 'countersign.yaml');
  writeFileSync(
    file,
    readFileSync(file, 'utf8')
      .replace(/pollMilliseconds: \d+/, 'pollMilliseconds: 50')
      .replace(/retryBaseMilliseconds: \d+/, 'retryBaseMilliseconds: 10'),
  );
}

for (const engine of ENGINES) {
  describe(`grants and execution on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    let executor: RunningExecutor | null = null;
    const plan = async (body: object = echoPlan()) => {
      const r = await s.request('POST', '/v1/plans', { body });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.status, 'approved');
      return r.body as { id: string; hash: string };
    };
    const grantFor = async (planId: string) => {
      const r = await s.request('POST', `/v1/plans/${planId}/grants`);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { grant: string; jti: string };
    };
    const execute = (planId: string, grant?: string) =>
      s.request('POST', `/v1/plans/${planId}/executions`, { body: grant ? { grant } : {} });
    const executionCount = async (planId: string) =>
      Number((await rawSql(s, 'select count(*) as n from executions where plan_id = ?', [planId]))[0].n);
    const auditHas = async (action: string, outcome: string, needle: string) => {
      const rows = await rawSql(s, 'select details from audit_log where action = ? and outcome = ?', [action, outcome]);
      return rows.some((r) => String(r.details).includes(needle));
    };
    const runExecutor = async () => {
      executor ??= await startExecutor(s.dir, { store: s.ctx.store, log: () => {} });
    };
    const waitFor = async (executionId: string, until: (e: any) => boolean = (e) => TERMINAL.includes(e.status)) => {
      for (let i = 0; i < 300; i++) {
        const r = await s.request('GET', `/v1/executions/${executionId}`);
        if (until(r.body)) return r.body;
        await new Promise((res) => setTimeout(res, 50));
      }
      throw new Error(`execution ${executionId} did not reach the expected state`);
    };

    before(async () => {
      s = await startTestServer(engine, { configure: fastExecutorConfig });
    });
    after(async () => {
      await executor?.stop();
      await s?.close();
    });

    test('an approved plan runs once in the sandbox; a second request gets the same execution', async () => {
      const p = await plan(echoPlan('ran in the sandbox'));
      const first = await execute(p.id);
      assert.equal(first.status, 201);
      const second = await execute(p.id);
      assert.equal(second.status, 200);
      assert.equal(second.body.id, first.body.id);
      await runExecutor();
      const done = await waitFor(first.body.id);
      assert.equal(done.status, 'succeeded');
      assert.equal(done.steps[0].stdout, 'ran in the sandbox\n');
      assert.equal((await s.request('GET', `/v1/plans/${p.id}`)).body.status, 'succeeded');
      assert.equal((await execute(p.id)).body.id, first.body.id);
      assert.equal(await executionCount(p.id), 1);
    });

    test('a replayed grant never starts a second run', async () => {
      const p = await plan();
      const g = await grantFor(p.id);
      const first = await execute(p.id, g.grant);
      assert.equal(first.status, 201);
      const replay = await execute(p.id, g.grant);
      assert.equal(replay.body.id, first.body.id);
      assert.equal(await executionCount(p.id), 1);
      // At the database level a consumed grant cannot back a second execution either.
      const other = await plan();
      await assert.rejects(
        rawSql(
          s,
          'insert into executions (id, tenant_id, plan_id, environment, grant_jti, grant_token, status, requested_by, attempt, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          ['exe_replay', s.init.tenantId, other.id, 'dev', g.jti, g.grant, 'queued', 'x', 0, new Date().toISOString()],
        ),
      );
    });

    test('a grant for plan A is refused on plan B, and audited', async () => {
      const a = await plan();
      const b = await plan();
      const g = await grantFor(a.id);
      const r = await execute(b.id, g.grant);
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'GRANT_INVALID');
      assert.equal(await executionCount(b.id), 0);
      assert.ok(await auditHas('plan.execute', 'denied', 'GRANT_INVALID'));
    });

    test('an expired grant is refused', async () => {
      const p = await plan();
      const key = loadGrantSigningKey(join(s.dir, 'keys'));
      const old = await mintGrant(
        key,
        {
          jti: 'expired-1',
          tenant: s.init.tenantId,
          environment: 'dev',
          planId: p.id,
          planHash: p.hash,
          scope: { steps: [0], rollback: [] },
        },
        new Date(Date.now() - 3_600_000),
        300,
      );
      const r = await execute(p.id, old.token);
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'GRANT_INVALID');
      assert.ok(await auditHas('plan.execute', 'denied', 'expired'));
    });

    test('grants signed with another key, unsigned, or HMAC-signed with the public key are refused', async () => {
      const p = await plan();
      const real = loadGrantSigningKey(join(s.dir, 'keys'));
      const { privateKey } = generateKeyPairSync('ed25519');
      const claims = {
        jti: 'forged',
        tenant: s.init.tenantId,
        environment: 'dev',
        planId: p.id,
        planHash: p.hash,
        scope: { steps: [0], rollback: [] },
      };
      const sameKid = await mintGrant({ kid: real.kid, privateKey }, claims, new Date(), 300);
      const otherKid = await mintGrant({ kid: 'ffffffffffffffff', privateKey }, claims, new Date(), 300);
      const payload = {
        iss: 'countersign-api',
        aud: 'countersign-executor',
        sub: p.id,
        jti: 'none',
        tenant: s.init.tenantId,
        env: 'dev',
        plan_hash: p.hash,
        scope: { steps: [0], rollback: [] },
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 300,
      };
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const none = `${b64({ alg: 'none', typ: 'countersign-grant+jwt', kid: real.kid })}.${b64(payload)}.`;
      const pub = readFileSync(join(s.dir, 'keys', `grant-${real.kid}.pub`));
      const hsHead = `${b64({ alg: 'HS256', typ: 'countersign-grant+jwt', kid: real.kid })}.${b64(payload)}`;
      const hs = `${hsHead}.${createHmac('sha256', pub).update(hsHead).digest('base64url')}`;
      const hsJose = await new SignJWT(payload)
        .setProtectedHeader({ alg: 'HS256', kid: real.kid, typ: 'countersign-grant+jwt' })
        .sign(new Uint8Array(pub));
      for (const token of [sameKid.token, otherKid.token, none, hs, hsJose, 'not.a.jwt', '']) {
        const r = await execute(p.id, token || undefined);
        if (!token) continue;
        assert.equal(r.status, 403, token.slice(0, 40));
        assert.equal(r.body.error.code, 'GRANT_INVALID');
      }
      assert.equal(await executionCount(p.id), 1, 'only the final request without a grant ran');
    });

    test('a grant for a plan whose row was edited after approval is refused, at request and at claim', async () => {
      const p = await plan(echoPlan('before'));
      const g = await grantFor(p.id);
      const [row] = await rawSql(s, 'select document from plans where id = ?', [p.id]);
      await rawSql(s, 'update plans set document = ? where id = ?', [row.document.replace('before', 'after!'), p.id]);
      const r = await execute(p.id, g.grant);
      assert.equal(r.status, 409);
      assert.equal(r.body.error.code, 'PLAN_HASH_MISMATCH');
      assert.equal(await executionCount(p.id), 0);

      // Queued first, edited before the executor claims it: refused at claim, never run.
      await executor?.stop();
      executor = null;
      const q = await plan(echoPlan('queued'));
      const exec = (await execute(q.id)).body;
      const [qrow] = await rawSql(s, 'select document from plans where id = ?', [q.id]);
      await rawSql(s, 'update plans set document = ? where id = ?', [qrow.document.replace('queued', 'swapped'), q.id]);
      await runExecutor();
      const done = await waitFor(exec.id);
      assert.equal(done.status, 'failed');
      assert.match(done.reason, /hash/);
      assert.equal(done.steps[0].status, 'pending');
      assert.ok(await auditHas('plan.execute', 'denied', 'claim'));
    });

    test('a grant revoked mid-execution stops it before the next step', async () => {
      await runExecutor();
      const p = await plan({
        intent: 'two steps',
        environment: 'dev',
        steps: [
          { tool: 'sleep', action: 'wait', input: { seconds: 1.5 } },
          { tool: 'echo', action: 'say', input: { message: 'must not run' } },
        ],
      });
      const exec = (await execute(p.id)).body;
      await waitFor(exec.id, (e) => e.steps[0].status === 'running' || TERMINAL.includes(e.status));
      const revoked = await s.request('POST', `/v1/executions/${exec.id}/revoke-grant`, { body: { reason: 'wrong window' } });
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      const done = await waitFor(exec.id);
      assert.equal(done.status, 'failed');
      assert.match(done.reason, /revoked/);
      assert.equal(done.steps[1].status, 'pending');
      assert.ok(await auditHas('execution.step', 'denied', 'revoked'));
    });

    test('the kill switch refuses new executions and stops running ones before their next step', async () => {
      await runExecutor();
      assert.equal((await s.request('POST', '/v1/freeze', { body: { environment: 'dev', reason: 'incident 42' } })).status, 200);
      const blocked = await plan();
      const r = await execute(blocked.id);
      assert.equal(r.status, 423);
      assert.equal(r.body.error.code, 'FROZEN');
      assert.equal((await s.request('POST', '/v1/unfreeze', { body: { environment: 'dev' } })).status, 200);

      const p = await plan({
        intent: 'freeze mid-run',
        environment: 'dev',
        steps: [
          { tool: 'sleep', action: 'wait', input: { seconds: 1.5 } },
          { tool: 'echo', action: 'say', input: { message: 'must not run' } },
        ],
      });
      const exec = (await execute(p.id)).body;
      await waitFor(exec.id, (e) => e.steps[0].status === 'running' || TERMINAL.includes(e.status));
      assert.equal((await s.request('POST', '/v1/freeze', { body: { reason: 'stop everything' } })).status, 200);
      const done = await waitFor(exec.id);
      assert.equal(done.status, 'failed');
      assert.match(done.reason, /frozen/);
      assert.equal((await s.request('POST', '/v1/unfreeze', { body: {} })).status, 200);
    });

    test('a failed step rolls back in reverse order; a failed rollback needs attention', async () => {
      await runExecutor();
      const rb = await plan({
        intent: 'roll back',
        environment: 'dev',
        steps: [
          { tool: 'echo', action: 'say', input: { message: 'one' } },
          { tool: 'fail', action: 'now', input: {} },
        ],
        rollback: [
          { tool: 'echo', action: 'say', input: { message: 'undo-first' } },
          { tool: 'echo', action: 'say', input: { message: 'undo-second' } },
        ],
      });
      const e1 = await waitFor((await execute(rb.id)).body.id);
      assert.equal(e1.status, 'rolled_back');
      const rollback = e1.steps.filter((x: any) => x.phase === 'rollback');
      assert.ok(rollback.every((x: any) => x.status === 'succeeded'));
      assert.ok(rollback[1].startedAt <= rollback[0].startedAt, 'rollback runs last step first');
      assert.equal((await s.request('GET', `/v1/plans/${rb.id}`)).body.status, 'rolled_back');

      const bad = await plan({
        intent: 'rollback fails',
        environment: 'dev',
        steps: [{ tool: 'fail', action: 'now', input: {} }],
        rollback: [{ tool: 'fail', action: 'now', input: {} }],
      });
      const e2 = await waitFor((await execute(bad.id)).body.id);
      assert.equal(e2.status, 'needs_attention');
      assert.match(e2.reason, /rollback/);
    });

    test('a failing idempotent step is retried with backoff; a non-idempotent one is not', async () => {
      await runExecutor();
      const flaky = await plan({ intent: 'flaky', environment: 'dev', steps: [{ tool: 'fail', action: 'flaky', input: {} }] });
      const e1 = await waitFor((await execute(flaky.id)).body.id);
      assert.equal(e1.status, 'failed');
      assert.equal(e1.steps[0].attempts, 3);
      const once = await plan({ intent: 'once', environment: 'dev', steps: [{ tool: 'fail', action: 'now', input: {} }] });
      const e2 = await waitFor((await execute(once.id)).body.id);
      assert.equal(e2.steps[0].attempts, 1);
    });

    test('the grant token is never returned by the API', async () => {
      const p = await plan();
      const exec = (await execute(p.id)).body;
      const [row] = await rawSql(s, 'select grant_token from executions where id = ?', [exec.id]);
      assert.doesNotMatch(
        JSON.stringify((await s.request('GET', `/v1/executions/${exec.id}`)).body),
        new RegExp(row.grant_token.split('.')[2]),
      );
    });
  });
}
