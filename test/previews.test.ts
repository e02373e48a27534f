// Issue 17: previews before approval. A fake kubectl-like tool whose state is one file: its
// `diff` preview reads the file (mounted read-only) and its `apply` action changes it. Real
// sandbox, real executor, the real API, both engines.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_STEP_UP } from '../src/approvals/index.ts';
import { type RunningExecutor, startExecutor } from '../src/executor/executor.ts';
import { renderNotice } from '../src/notifications/render.ts';
import { systemPrincipal } from '../src/operations/index.ts';
import { expireDuePlans } from '../src/server/sweeper.ts';
import { sha256OfExecutable } from '../src/tools/index.ts';
import { runCli } from './support/cli.ts';
import { ENGINES } from './support/engines.ts';
import { configureExecutor, removeWorkRoot, waitForExecution } from './support/execution.ts';
import { addPrincipal } from './support/principals.ts';
import { rawSql } from './support/raw-db.ts';
import { startTestServer, type TestServer, tempDir } from './support/server.ts';
import { signManifestFile } from './support/tools.ts';

const WRITE_SECRET = 'kubish-write-0a9f8e7d6c5b4a39';
const READ_SECRET = 'kubish-read-1b2c3d4e5f6a7b8c';

/** The fake tool, copied where the sandbox's host users can read it, and its state file. */
function kubishHost(): { root: string; executable: string; stateDir: string; state: string } {
  const root = tempDir('cs-kubish-');
  chmodSync(root, 0o755);
  const executable = join(root, 'kubish');
  copyFileSync(new URL('./fixtures/previews/kubish.sh', import.meta.url), executable);
  chmodSync(executable, 0o755);
  const stateDir = join(root, 'cluster');
  mkdirSync(stateDir);
  chmodSync(stateDir, 0o1777);
  const state = join(stateDir, 'state');
  writeFileSync(state, 'v0\n');
  chmodSync(state, 0o666);
  return { root, executable, stateDir, state };
}

function kubishManifest(h: { executable: string; stateDir: string; state: string }): string {
  const diff = (mode: string) => `
    argv: [${mode}, ${h.state}, "{{value}}"]
    input: { properties: { value: { type: string, pattern: "^[a-z0-9]+$" } }, required: [value] }
    risk: low
    sandbox:
      readOnlyPaths: [${h.stateDir}]
      secrets: [{ name: KUBISH_READ_TOKEN, from: "env:KUBISH_READ_TOKEN" }]`;
  const apply = (preview: string, recheck = 'before-step') => `
    argv: [apply, ${h.state}, "{{value}}"]
    input: { properties: { value: { type: string, pattern: "^[a-z0-9]+$" } }, required: [value] }
    risk: low
    preview: { action: ${preview}, recheck: ${recheck} }
    sandbox:
      writablePaths: [${h.stateDir}]
      secrets: [{ name: KUBISH_WRITE_TOKEN, from: "env:KUBISH_WRITE_TOKEN" }]`;
  return `apiVersion: countersign/v1
kind: Tool
name: kubish
version: 1.0.0
executable: { path: ${h.executable}, sha256: ${sha256OfExecutable(h.executable)} }
actions:
  diff:${diff('diff')}
  sneak:${diff('sneak')}
  apply:${apply('diff')}
  apply-chained:${apply('diff', 'before-execution')}
  apply-sneaky:${apply('sneak')}
`;
}

const plan = (...values: [action: string, value: string][]) => ({
  intent: 'roll the state forward',
  environment: 'staging',
  steps: values.map(([action, value]) => ({ tool: 'kubish', action, input: { value } })),
});

for (const engine of ENGINES) {
  describe(`previews before approval on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    let h: ReturnType<typeof kubishHost>;
    let executor: RunningExecutor | null = null;
    let reviewer: { id: string; key: string };
    let second: { id: string; key: string };
    let firstPlan = '';

    const get = async (id: string) => (await s.request('GET', `/v1/plans/${id}`)).body;
    const waitStatus = async (id: string, status: string, previousHash?: string) => {
      const deadline = Date.now() + 30_000;
      let last: any;
      while (Date.now() < deadline) {
        last = await get(id);
        if (last.status === status && (!previousHash || last.hash !== previousHash)) return last;
        await sleep(50);
      }
      assert.fail(`plan ${id} did not become ${status}: ${JSON.stringify(last)}`);
    };
    const review = (id: string, planHash: string, key: string, decision = 'approve') =>
      s.request('POST', `/v1/plans/${id}/approvals`, { key, body: { decision, planHash } });
    const startOurExecutor = async () => {
      executor ??= await startExecutor(s.dir, {
        store: s.ctx.store,
        log: () => {},
        env: { ...process.env, KUBISH_WRITE_TOKEN: WRITE_SECRET, KUBISH_READ_TOKEN: READ_SECRET },
      });
    };

    before(async () => {
      h = kubishHost();
      s = await startTestServer(engine, {
        // On PostgreSQL the attacher then looks only when notified (0017_preview_notify): every
        // plan below that reaches review got there through a notification. SQLite polls.
        previewIdleMs: 600_000,
        configure: (dir) => {
          const file = join(dir, 'tools', 'kubish.yaml');
          writeFileSync(file, kubishManifest(h));
          signManifestFile(dir, file);
          configureExecutor(dir, { pollMilliseconds: 50 });
          // A proposer policy lets propose low-risk plans only (the ceiling test below).
          writeFileSync(
            join(dir, 'policies', 'low-only.cedar'),
            '@id("low-only")\nforbid (principal in Countersign::Group::"low-only", action == Countersign::Action::"plan.propose", resource)\nwhen { resource has riskLevel && resource.riskLevel >= 1 };\n',
          );
        },
      });
      reviewer = await addPrincipal(s, 'rev', 'human', ['approvers']);
      second = await addPrincipal(s, 'rev2', 'human', ['approvers']);
    });
    after(async () => {
      await executor?.stop();
      await s?.close();
      removeWorkRoot(s.dir);
      rmSync(h.root, { recursive: true, force: true });
    });

    test('a previewing plan cannot be reviewed; once previewed, reviewers see the diff bound into the hash', async () => {
      const proposed = await s.request('POST', '/v1/plans', { body: plan(['apply', 'v1']) });
      assert.equal(proposed.status, 201, JSON.stringify(proposed.body));
      assert.equal(proposed.body.status, 'previewing');
      // No executor yet: the plan is certainly still previewing.
      const early = await review(proposed.body.id, proposed.body.hash, reviewer.key);
      assert.equal(early.status, 409, JSON.stringify(early.body));
      assert.equal(early.body.error.code, 'PLAN_INVALID_TRANSITION');
      await startOurExecutor();
      const p = await waitStatus(proposed.body.id, 'pending_approval');
      assert.notEqual(p.hash, proposed.body.hash, 'the previews are part of the hashed content');
      assert.equal(p.previews.length, 1);
      const [pv] = p.previews;
      assert.equal(pv.status, 'ok', JSON.stringify(pv));
      assert.equal(pv.diff, true);
      assert.match(pv.output, /^-v0$/m);
      assert.match(pv.output, /^\+v1$/m);
      assert.equal(pv.fingerprintSource, 'file');
      // The preview ran with its own read credential, never the step's write credential.
      assert.match(pv.errors, /KUBISH_READ_TOKEN/);
      assert.doesNotMatch(pv.errors, /KUBISH_WRITE_TOKEN/);
      assert.ok(!JSON.stringify(p).includes(READ_SECRET) && !JSON.stringify(p).includes(WRITE_SECRET));
      // Approving the proposal-time content is refused: it is not what reviewers now see.
      const stale = await review(p.id, proposed.body.hash, reviewer.key);
      assert.equal(stale.status, 409);
      assert.equal(stale.body.error.code, 'PLAN_HASH_MISMATCH');
      // The outbox told reviewers once the previews were attached, not at proposal.
      firstPlan = p.id;
      // The message reviewers get carries the preview's status, an excerpt of the diff and a link.
      const [event] = await rawSql(s, "select * from notification_outbox where kind = 'plan.pending' and subject = ?", [`plan:${p.id}`]);
      const notice = await renderNotice(s.ctx.store.scope(s.init.tenantId), event, {
        now: new Date(),
        consoleUrl: 'https://countersign.example',
        stepUp: DEFAULT_STEP_UP,
      });
      const text = notice.lines.join('\n');
      assert.match(text, /Preview of step 1 \(kubish\.diff\): ok/);
      assert.match(text, /^\+v1$/m);
      assert.match(text, new RegExp(`Full preview: https://countersign\\.example/plans/${p.id}`));
      const pending = await rawSql(s, "select dedup_key from notification_outbox where kind = 'plan.pending' and subject = ?", [
        `plan:${p.id}`,
      ]);
      assert.deepEqual(
        pending.map((r) => String(r.dedup_key)),
        [`plan.pending:plan:${p.id}:${p.hash}`],
      );
    });

    test('a state change between approval and execution stops it as stale and reopens review; the old approval cannot run the new content', async () => {
      const proposed = await s.request('POST', '/v1/plans', { body: plan(['apply', 'v2']) });
      await startOurExecutor();
      const p = await waitStatus(proposed.body.id, 'pending_approval');
      const approved = await review(p.id, p.hash, reviewer.key);
      assert.equal(approved.body.plan.status, 'approved', JSON.stringify(approved.body));
      writeFileSync(h.state, 'drifted\n'); // someone else changed the cluster
      const exec = await s.request('POST', `/v1/plans/${p.id}/executions`, { body: {} });
      assert.equal(exec.status, 201, JSON.stringify(exec.body));
      const done = await waitForExecution(s, exec.body.id, 30_000, (v) => v.status === 'stale');
      assert.match(done.reason, /^stale: step 1/);
      assert.ok(
        done.steps.every((st: { status: string }) => st.status === 'pending'),
        'no step ran',
      );
      assert.equal(readFileSync(h.state, 'utf8'), 'drifted\n');
      const again = await waitStatus(p.id, 'pending_approval', p.hash);
      assert.match(again.previews[0].output, /^-drifted$/m);
      assert.equal(again.tally.satisfied, false, 'the approval of the old content does not count');
      const refused = await s.request('POST', `/v1/plans/${p.id}/executions`, { body: {} });
      assert.equal(refused.status, 409, JSON.stringify(refused.body));
      const oldHash = await review(p.id, p.hash, second.key);
      assert.equal(oldHash.body.error.code, 'PLAN_HASH_MISMATCH');
      // Reviewed again, the same execution runs (re-armed with a new grant; nothing of it had run).
      assert.equal((await review(p.id, again.hash, second.key)).body.plan.status, 'approved');
      const rerun = await s.request('POST', `/v1/plans/${p.id}/executions`, { body: {} });
      assert.equal(rerun.status, 201, JSON.stringify(rerun.body));
      assert.equal(rerun.body.id, exec.body.id);
      const finished = await waitForExecution(s, exec.body.id);
      assert.equal(finished.status, 'succeeded', JSON.stringify(finished));
      assert.equal(readFileSync(h.state, 'utf8'), 'v2\n');
      const audit = await rawSql(s, 'select action, outcome from audit_log where resource = ? and action in (?, ?) order by seq', [
        `plan:${p.id}`,
        'plan.preview',
        'plan.stale',
      ]);
      assert.deepEqual(
        audit.map((r) => `${r.action}:${r.outcome}`),
        ['plan.preview:allowed', 'plan.stale:denied', 'plan.preview:allowed'],
      );
      const pending = await rawSql(s, "select count(*) as n from notification_outbox where kind = 'plan.pending' and subject = ?", [
        `plan:${p.id}`,
      ]);
      assert.equal(Number(pending[0].n), 2, 'reviewers were told again');
    });

    // The store plays no part in these beyond what the tests above cover: one engine is enough.
    const oneEngine = engine.name === 'sqlite' ? test : () => {};
    oneEngine('`countersign plan show` shows each preview (and all of it with --json)', async () => {
      const env = { COUNTERSIGN_SERVER: s.url, COUNTERSIGN_TOKEN: reviewer.key };
      const human = await runCli(['plan', 'show', firstPlan], { env });
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /previews \(1\):/);
      assert.match(human.stdout, /step 1 kubish\.diff: ok/);
      assert.match(human.stdout, /\| \+v1$/m);
      const json = await runCli(['plan', 'show', firstPlan, '--json'], { env });
      assert.equal(json.code, 0, json.stderr);
      const view = JSON.parse(json.stdout);
      assert.equal(view.previews[0].status, 'ok');
      assert.equal(view.previews[0].diff, true);
    });
    oneEngine(
      'a later step whose preview moved fails like a step (before-step); before-execution leaves it to the first check',
      async () => {
        writeFileSync(h.state, 'v0\n');
        await startOurExecutor();
        const run = async (second: string) => {
          const proposed = await s.request('POST', '/v1/plans', { body: plan(['apply', 'v3'], [second, 'v4']) });
          const p = await waitStatus(proposed.body.id, 'pending_approval');
          await review(p.id, p.hash, reviewer.key);
          const exec = await s.request('POST', `/v1/plans/${p.id}/executions`, { body: {} });
          return waitForExecution(s, exec.body.id);
        };
        const strict = await run('apply');
        assert.equal(strict.status, 'failed', JSON.stringify(strict));
        assert.equal(strict.steps[0].status, 'succeeded');
        assert.match(strict.steps[1].error, /\[PLAN_STALE\]/);
        assert.equal(readFileSync(h.state, 'utf8'), 'v3\n', 'the stale step did not run');
        writeFileSync(h.state, 'v0\n');
        const chained = await run('apply-chained');
        assert.equal(chained.status, 'succeeded', JSON.stringify(chained));
        assert.equal(readFileSync(h.state, 'utf8'), 'v4\n');
      },
    );

    oneEngine('a preview that tries to write fails in the sandbox, is shown as failed and raises the risk', async () => {
      writeFileSync(h.state, 'v0\n');
      await startOurExecutor();
      const proposed = await s.request('POST', '/v1/plans', { body: plan(['apply-sneaky', 'evil']) });
      const p = await waitStatus(proposed.body.id, 'pending_approval');
      assert.equal(p.previews[0].status, 'failed');
      assert.match(p.previews[0].errors, /Read-only file system|Permission denied/);
      assert.equal(p.risk, 'medium');
      assert.ok(
        p.riskReasons.some((r: string) => /preview kubish\.sneak failed/.test(r)),
        JSON.stringify(p.riskReasons),
      );
      assert.equal(readFileSync(h.state, 'utf8'), 'v0\n');
    });

    oneEngine(
      'previews cannot carry a plan past the risk its proposer’s policy allows: raised above it, the plan is rejected',
      async () => {
        writeFileSync(h.state, 'v0\n');
        await startOurExecutor();
        const bot = await addPrincipal(s, 'low-bot', 'agent', ['agent', 'low-only']);
        const proposed = await s.request('POST', '/v1/plans', { key: bot.key, body: plan(['apply-sneaky', 'evil']) });
        assert.equal(proposed.status, 201, JSON.stringify(proposed.body));
        assert.equal(proposed.body.risk, 'low');
        const p = await waitStatus(proposed.body.id, 'rejected');
        assert.equal(p.risk, 'medium');
        assert.match(p.statusReason, /policy lets the proposer propose this plan up to low risk; its previews raised it to medium/);
        // Proposing a medium plan directly is what the policy forbids; the previews did not get around it.
        const direct = await s.request('POST', '/v1/plans', { key: bot.key, body: { ...plan(['apply', 'v1']), environment: 'prod' } });
        assert.equal(direct.status, 403, JSON.stringify(direct.body));
      },
    );

    test('a database writer who edits a stored preview is caught by the hash, and by the seal when the hash is rewritten too', async () => {
      await startOurExecutor();
      const proposed = await s.request('POST', '/v1/plans', { body: plan(['apply', 'v9']) });
      const p = await waitStatus(proposed.body.id, 'pending_approval');
      const [row] = await rawSql(s, 'select document from plans where id = ?', [p.id]);
      const forged = String(row.document).replace('+v9', '+v8');
      assert.notEqual(forged, String(row.document));
      await rawSql(s, 'update plans set document = ? where id = ?', [forged, p.id]);
      const byHash = await review(p.id, p.hash, reviewer.key);
      assert.equal(byHash.body.error.code, 'PLAN_HASH_MISMATCH', JSON.stringify(byHash.body));
      const { createHash } = await import('node:crypto');
      const forgedHash = createHash('sha256').update(forged).digest('hex');
      await rawSql(s, 'update plans set hash = ? where id = ?', [forgedHash, p.id]);
      const bySeal = await review(p.id, forgedHash, reviewer.key);
      assert.equal(bySeal.body.error.code, 'SEAL_INVALID', JSON.stringify(bySeal.body));
    });

    test('a plan whose previews do not come within the pending TTL expires; previews that come after the wait never open review', async () => {
      // No executor: both plans wait for their previews, the first as if for longer than the TTL.
      await executor?.stop();
      executor = null;
      const ttl = s.ctx.config.plans.pendingTtlHours;
      const late = (await s.request('POST', '/v1/plans', { body: plan(['apply', 'late']) })).body;
      const fresh = (await s.request('POST', '/v1/plans', { body: plan(['apply', 'fresh']) })).body;
      assert.equal(late.status, 'previewing');
      const since = new Date(Date.now() - (ttl + 1) * 3_600_000).toISOString();
      await rawSql(s, 'update plans set updated_at = ? where id = ?', [since, late.id]);
      // The executor comes back and runs both plans' previews; the API refuses to attach the late ones.
      await startOurExecutor();
      await waitStatus(fresh.id, 'pending_approval');
      const deadline = Date.now() + 30_000;
      let refusals: Record<string, unknown>[] = [];
      while (refusals.length === 0 && Date.now() < deadline) {
        refusals = await rawSql(s, "select outcome, details from audit_log where resource = ? and action = 'plan.preview'", [
          `plan:${late.id}`,
        ]);
        if (refusals.length === 0) await sleep(50);
      }
      assert.equal(refusals.length > 0 && refusals.every((r) => r.outcome === 'denied'), true, JSON.stringify(refusals));
      assert.match(String(refusals[0]?.details), /PLAN_EXPIRED/);
      assert.equal((await get(late.id)).status, 'previewing', 'nobody may review it');
      // The sweeper expires it, and only it: the fresh plan's wait is counted from its own proposal.
      assert.ok((await expireDuePlans(s.ctx, s.init.tenantId)) >= 1);
      const expired = await get(late.id);
      assert.equal(expired.status, 'expired');
      assert.equal(expired.statusReason, `its previews did not arrive within ${ttl} hours`);
      assert.equal((await get(fresh.id)).status, 'pending_approval');
      const [entry] = await rawSql(s, "select outcome, details from audit_log where resource = ? and action = 'plan.expire'", [
        `plan:${late.id}`,
      ]);
      assert.equal(entry?.outcome, 'allowed');
      assert.equal(JSON.parse(String(entry?.details)).previewingSince, since);
      // Its previews are no longer waiting to be attached, and it cannot be reviewed.
      assert.ok(!(await s.ctx.store.previewQueue.ready(100)).some((j) => j.planId === late.id));
      const review_ = await review(late.id, late.hash, reviewer.key);
      assert.equal(review_.status, 409, JSON.stringify(review_.body));
      // A previewing plan inside its wait is refused by the host operation itself.
      const waiting = (await s.request('POST', '/v1/plans', { body: plan(['apply', 'wait']) })).body;
      await assert.rejects(
        s.ctx.pipeline.run('plan.expire', systemPrincipal(s.init.tenantId), { planId: waiting.id }, 'host'),
        (err: { code?: string }) => err.code === 'PLAN_INVALID_TRANSITION',
      );
    });
  });
}
