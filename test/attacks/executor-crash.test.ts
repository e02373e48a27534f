// Invariant 10: an executor killed with SIGKILL mid-step loses its lease; the next executor
// retries the step only when its action is idempotent, otherwise the execution goes to
// `needs_attention` with the reason — never a silent second run. The killed step's sandbox
// dies with its executor (--die-with-parent), and the audit log still verifies.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { runCli } from '../support/cli.ts';
import { ENGINES } from '../support/engines.ts';
import {
  configureExecutor,
  type ExecutorChild,
  queueExecution,
  removeSharedMarkDir,
  removeWorkRoot,
  sharedMarkDir,
  signTestTools,
  spawnExecutor,
  stopChild,
  waitForEvent,
  waitForExecution,
} from '../support/execution.ts';
import { rawSql } from '../support/raw-db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { writeTestTools } from '../support/tools.ts';

/** Sets the step's command line apart from any other `sleep` on the host (other runs of this file included). */
const SECONDS = Number((6 + (process.pid % 997) / 1000 + 0.0005).toFixed(4));

interface Proc {
  pid: number;
  ppid: number;
  argv: string[];
  state: string;
}

function readProc(pid: number): Proc | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: the fields after it start past the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { pid, ppid: Number(rest[1]), state: rest[0] ?? '?', argv };
  } catch {
    return null; // gone meanwhile
  }
}

function allProcs(): Proc[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map((e) => readProc(Number(e)))
    .filter((p): p is Proc => p !== null);
}

const isStepSleep = (p: Proc) => p.state !== 'Z' && /(^|\/)sleep$/.test(p.argv[0] ?? '') && p.argv.slice(1).join(' ') === String(SECONDS);

/** The step's `sleep` processes that descend from `root` (the executor). */
function stepSleepsUnder(root: number): Proc[] {
  const procs = allProcs();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const descends = (p: Proc) => {
    for (let cur: Proc | undefined = p, hops = 0; cur && hops < 64; cur = byPid.get(cur.ppid), hops++) {
      if (cur.ppid === root) return true;
    }
    return false;
  };
  return procs.filter((p) => isStepSleep(p) && descends(p));
}

/** Bounded wait until `check` holds. */
async function eventually<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = check();
    if (v) return v;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Starts an executor, waits for the execution's step to start, finds its sandboxed sleep, kills the executor with SIGKILL. */
async function killMidStep(s: TestServer, executionId: string): Promise<{ killedOwner: string; sleeps: Proc[] }> {
  const x1 = spawnExecutor(s.dir, s.databaseUrl);
  try {
    const events = await waitForEvent(s, executionId, 'step.started', 60_000);
    const started = events.find((e) => e.type === 'execution.started');
    assert.ok(started, 'execution.started precedes step.started');
    const sleeps = await eventually('the step to be running in its sandbox', () => {
      const found = stepSleepsUnder(x1.child.pid!);
      return found.length > 0 ? found : undefined;
    });
    const pid = x1.child.pid!;
    process.kill(pid, 'SIGKILL');
    assert.equal(await x1.exited, 'SIGKILL');
    // The kernel delivers the sandbox's parent-death signal asynchronously: wait, bounded.
    await eventually('the killed step’s sandboxed sleep to die with its executor', () =>
      sleeps.every((p) => {
        const now = readProc(p.pid);
        return now === null || now.state === 'Z' || !isStepSleep(now);
      }),
    );
    assert.deepEqual(
      allProcs()
        .filter(isStepSleep)
        .map((p) => p.pid),
      [],
      'no sleep of the killed step survives anywhere on the host',
    );
    return { killedOwner: started.data.owner, sleeps };
  } finally {
    if (x1.child.exitCode === null && x1.child.signalCode === null) x1.child.kill('SIGKILL');
  }
}

for (const engine of ENGINES) {
  describe(`kill -9 of an executor mid-step on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    let second: ExecutorChild | undefined;
    before(async () => {
      s = await startTestServer(engine, {
        configure: (dir) => {
          writeTestTools(dir);
          signTestTools(dir);
          configureExecutor(dir, { leaseSeconds: 2, pollMilliseconds: 100, retryAttempts: 0, drainSeconds: 5 });
        },
      });
    });
    after(async () => {
      if (second) await stopChild(second);
      if (s) removeWorkRoot(s.dir);
      await s?.close();
    });

    test('an idempotent step is retried by the next executor and succeeds, attempted twice', async () => {
      const { planId, executionId } = await queueExecution(s, [{ tool: 'sleep', action: 'wait', input: { seconds: SECONDS } }]);
      const { killedOwner, sleeps } = await killMidStep(s, executionId);
      assert.ok(sleeps.length >= 1);
      second = spawnExecutor(s.dir, s.databaseUrl);
      const view = await waitForExecution(s, executionId, 60_000);
      assert.equal(view.status, 'succeeded', JSON.stringify(view));
      assert.equal(view.attempt, 2, 'claimed twice: once by each executor');
      assert.equal(view.steps.length, 1);
      assert.equal(view.steps[0].status, 'succeeded');
      assert.equal(view.steps[0].attempts, 2, 'the step ran twice: killed, then retried');
      const events = (await s.request('GET', `/v1/executions/${executionId}/events`)).body.events;
      const retry = events.filter((e: any) => e.type === 'step.retry');
      assert.equal(retry.length, 1, JSON.stringify(events));
      assert.match(retry[0].data.reason, /idempotent/);
      const owners = events.filter((e: any) => e.type === 'execution.started').map((e: any) => e.data.owner);
      assert.equal(owners.length, 2);
      assert.equal(owners[0], killedOwner);
      assert.notEqual(owners[1], killedOwner, 'another executor took over');
      assert.equal(events.filter((e: any) => e.type === 'step.started').length, 2);
      assert.equal((await s.request('GET', `/v1/plans/${planId}`)).body.status, 'succeeded');
      await stopChild(second);
      second = undefined;
    });

    test('a non-idempotent step is not run again: the execution and plan go to needs_attention naming the step', async () => {
      const { planId, executionId } = await queueExecution(s, [{ tool: 'sleep', action: 'wait-once', input: { seconds: SECONDS } }]);
      await killMidStep(s, executionId);
      second = spawnExecutor(s.dir, s.databaseUrl);
      const view = await waitForExecution(s, executionId, 60_000);
      assert.equal(view.status, 'needs_attention', JSON.stringify(view));
      assert.match(view.reason, /main step 1 \(sleep\.wait-once\)/);
      assert.match(view.reason, /not idempotent/);
      assert.equal(view.steps[0].status, 'failed');
      assert.equal(view.steps[0].attempts, 1, 'the step was never started a second time');
      const events = (await s.request('GET', `/v1/executions/${executionId}/events`)).body.events;
      assert.equal(events.filter((e: any) => e.type === 'step.started').length, 1);
      assert.equal(events.filter((e: any) => e.type === 'step.retry').length, 0);
      const finished = events.filter((e: any) => e.type === 'execution.finished');
      assert.equal(finished.length, 1);
      assert.equal(finished[0].data.status, 'needs_attention');
      const plan = (await s.request('GET', `/v1/plans/${planId}`)).body;
      assert.equal(plan.status, 'needs_attention');
      await stopChild(second);
      second = undefined;
    });

    test('the audit log verifies after the crashes', async () => {
      const args = ['audit', 'verify', '--dir', s.dir, '--json'];
      if (s.databaseUrl) args.push('--database-url', s.databaseUrl);
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(JSON.parse(r.stdout).ok, true, r.stdout);
    });
  });
}

/** Counts this database's backends waiting on a lock while running a query that matches `like`. */
async function waitingOn(db: pg.Client, like: string): Promise<number> {
  const r = await db.query(
    "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like $1",
    [like],
  );
  return r.rows[0].n;
}

async function eventuallyAsync(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(25);
  }
  assert.fail(`timed out waiting for ${what}`);
}

const RENEW = 'update "executions" set "lease_expires_at"%';

const postgres = ENGINES.find((e) => e.name === 'postgres')!;

/**
 * A paused executor (GC pause, SIGSTOP, a VM migration) is indistinguishable from a dead one: its
 * lease expires and another executor takes over. When it wakes it must change nothing of the
 * execution it lost — the lease is the fence. Row and table locks hold executor A exactly between
 * its last lease check before the step (#revalidate's renew, which succeeds) and the step's
 * `running` mark; SIGSTOP keeps it there while B takes over and finishes.
 */
describe('an executor paused past its lease on postgres', { skip: postgres.skip }, () => {
  let s: TestServer;
  let shared: string;
  const children: ExecutorChild[] = [];
  const clients: pg.Client[] = [];
  before(async () => {
    shared = sharedMarkDir();
    s = await startTestServer(postgres, {
      configure: (dir) => {
        writeTestTools(dir, { sharedDir: shared });
        signTestTools(dir);
        configureExecutor(dir, { leaseSeconds: 3, pollMilliseconds: 100, retryAttempts: 0, drainSeconds: 5 });
      },
    });
  });
  after(async () => {
    for (const c of children) {
      if (c.child.exitCode === null && c.child.signalCode === null) {
        c.child.kill('SIGCONT');
        c.child.kill('SIGKILL');
        await c.exited;
      }
    }
    for (const c of clients) await c.end().catch(() => undefined);
    if (s) removeWorkRoot(s.dir);
    if (shared) removeSharedMarkDir(shared);
    await s?.close();
  });

  test('wakes to find its lease gone and leaves the execution, its step record and the audit log as the new owner left them', async () => {
    const { executionId } = await queueExecution(s, [{ tool: 'mark', action: 'once', input: { name: 'fenced' } }]);
    const connect = async () => {
      const c = new pg.Client({ connectionString: s.databaseUrl });
      await c.connect();
      clients.push(c);
      return c;
    };
    const [observer, tableLock, rowLock] = [await connect(), await connect(), await connect()];

    // 1. Hold A in #revalidate at the kill-switch read, just before its last lease renewal.
    await tableLock.query('begin');
    await tableLock.query('lock table freezes in access exclusive mode');
    const a = spawnExecutor(s.dir, s.databaseUrl);
    children.push(a);
    await eventuallyAsync('A to block on the kill-switch read', async () => (await waitingOn(observer, '%from "freezes"%')) >= 1);
    a.child.kill('SIGSTOP');
    // 2. Lock the execution row, let the kill-switch read finish, and wake A: its pre-step renewal
    //    and a heartbeat both queue on the row lock; then freeze A again.
    await rowLock.query('begin');
    await rowLock.query('select id from executions where id = $1 for update', [executionId]);
    await tableLock.query('commit');
    a.child.kill('SIGCONT');
    await eventuallyAsync('the heartbeat and the pre-step renewal to queue', async () => (await waitingOn(observer, RENEW)) >= 2);
    a.child.kill('SIGSTOP');
    // 3. Both renewals succeed in the database while A is frozen: A will read "lease renewed".
    await rowLock.query('commit');
    await eventuallyAsync('the queued renewals to run', async () => (await waitingOn(observer, RENEW)) === 0);

    // 4. The lease runs out; B takes over, runs the step (A never marked it running) and finishes.
    const b = spawnExecutor(s.dir, s.databaseUrl);
    children.push(b);
    const done = await waitForExecution(s, executionId, 60_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    const before = {
      step: done.steps[0],
      events: (await s.request('GET', `/v1/executions/${executionId}/events`)).body.events.length,
    };

    // 5. Wake A and let it settle: it either notices the lost lease or logs an outcome.
    a.child.kill('SIGCONT');
    await eventually(
      'A to settle',
      () => new RegExp(`execution ${executionId}: |lost the lease on ${executionId}`).test(a.stderr()),
      30_000,
    );

    const after = await s.request('GET', `/v1/executions/${executionId}`);
    assert.equal(after.body.status, 'succeeded');
    assert.equal(readdirSync(shared).length, 1);
    const problems: string[] = [];
    const step = after.body.steps[0];
    if (step.status !== 'succeeded' || step.exitCode !== 0 || step.attempts !== 1)
      problems.push(
        `step record rewritten by the stale executor: ${JSON.stringify({ status: step.status, exitCode: step.exitCode, attempts: step.attempts, error: step.error })} (was ${JSON.stringify({ status: before.step.status, exitCode: before.step.exitCode, attempts: before.step.attempts })})`,
      );
    const events = (await s.request('GET', `/v1/executions/${executionId}/events`)).body.events;
    const late = events.slice(before.events).map((e: any) => e.type);
    if (late.length > 0) problems.push(`events appended after execution.finished: ${late.join(', ')}`);
    const allowed = await rawSql(
      s,
      "select actor from audit_log where action = 'execution.step' and outcome = 'allowed' and resource = ?",
      [`execution:${executionId}`],
    );
    if (allowed.length !== 1)
      problems.push(`${allowed.length} pre-step "allowed" audit entries for a step that ran once: ${JSON.stringify(allowed)}`);
    // A step.finished carrying an exit code or a signal means a sandbox was launched: mkdir of the
    // existing directory exits 1, or the abort killed it first (`exit code null (SIGKILL)`).
    const relaunched = events
      .slice(before.events)
      .filter((e: any) => e.type === 'step.finished' && (e.data.exitCode !== null || /exit code|SIGKILL/.test(e.data.error ?? '')));
    if (relaunched.length > 0)
      problems.push(`the stale executor launched the non-idempotent step again: ${JSON.stringify(relaunched.map((e: any) => e.data))}`);
    assert.deepEqual(problems, [], `A's log:\n${a.stderr()}`);
  });
});
