// Chaos on the test's own PostgreSQL, with the processes of a real deployment: `serve` (an API
// replica and executor E1, supervised), a second API replica R (`api`), and executor E2, which
// reaches the database through a TCP proxy. In turn:
//  - 100 concurrent duplicate execute requests across two replicas make one execution;
//  - PostgreSQL is stopped mid-step and started again: every process stays up, answering 503
//    (readiness and requests) while it is away and 200 after;
//  - the serve's API replica is killed with SIGKILL (its supervisor stops E1) and E2's database
//    connections are cut mid-step, with reconnects refused for a while; R serves throughout.
// After each: every execution ends final or needs_attention, no non-idempotent step starts twice,
// every step that ran has its audit entries, and `audit verify` passes.
// (kill -9 of an executor mid-step: test/attacks/executor-crash.test.ts, on both engines.)
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { initDataDir } from '../../src/server/init.ts';
import { type ApiProcess, startApiProcess } from '../support/api-process.ts';
import { runCli } from '../support/cli.ts';
import {
  configureExecutor,
  type ExecutorChild,
  proposeApproved,
  queueExecution,
  removeSharedMarkDir,
  removeWorkRoot,
  sharedMarkDir,
  spawnExecutor,
  stopChild,
  TERMINAL_STATUSES,
  waitForExecution,
} from '../support/execution.ts';
import { httpClient, type Requester } from '../support/http-client.ts';
import { type PrivatePostgres, privatePostgresSkip, startPrivatePostgres } from '../support/private-postgres.ts';
import { type ServeProcess, startServe } from '../support/serve-process.ts';
import { tempDir } from '../support/server.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { writeTestTools } from '../support/tools.ts';

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** The direct children of a process (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`))
    out.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
  return out;
}

function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

describe('chaos on PostgreSQL: restart, partition, killed replica, duplicates', { skip: privatePostgresSkip }, () => {
  let db: PrivatePostgres;
  let proxy: TcpProxy;
  let dir: string;
  let shared: string;
  let adminKey: string;
  let serve: ServeProcess | undefined;
  let replica: ApiProcess | undefined;
  let e2: ExecutorChild | undefined;
  /** R, the replica that is never killed; S, the serve's API. */
  let r: Requester;
  let s: Requester;
  let markCount = 0;

  /** Queues executions whose first step is non-idempotent (a mark) and whose second runs a second. */
  async function queue(n: number, via: Requester): Promise<{ id: string; mark: string }[]> {
    const out = [];
    for (let i = 0; i < n; i++) {
      const mark = `m${markCount++}`;
      const { executionId } = await queueExecution(via, [
        { tool: 'mark', action: 'once', input: { name: mark } },
        { tool: 'sleep', action: 'wait', input: { seconds: 1 } },
      ]);
      out.push({ id: executionId, mark });
    }
    return out;
  }

  /** Until some execution's sleep step (its second) runs: the moment to strike. */
  async function midStep(ids: string[]): Promise<void> {
    await until('a sleep step to run', async () => {
      for (const id of ids) {
        const events = (await r.request('GET', `/v1/executions/${id}/events`)).body.events;
        if (events.some((e: any) => e.type === 'step.started' && e.data.index === 1)) return true;
      }
      return false;
    });
  }

  /** Every execution final; nothing run twice; audit entries agree with the step records; the chain verifies. */
  async function settled(queued: { id: string; mark: string }[], log: () => string): Promise<void> {
    const views = [];
    for (const q of queued) views.push(await waitForExecution(r, q.id, 60_000));
    for (const v of views) assert.ok((TERMINAL_STATUSES as readonly string[]).includes(v.status), JSON.stringify(v));
    const problems: string[] = [];
    const marks = readdirSync(shared);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      for (const [i, v] of views.entries()) {
        const mark = v.steps.find((x: any) => x.tool === 'mark');
        if (mark.attempts > 1) problems.push(`${v.id}: the non-idempotent mark step started ${mark.attempts} times`);
        if (mark.status === 'succeeded' && !marks.includes(queued[i]!.mark)) problems.push(`${v.id}: mark succeeded without effect`);
        const rows = (
          await client.query(
            "select outcome, count(*)::int as n from audit_log where action = 'execution.step' and resource = $1 group by outcome",
            [`execution:${v.id}`],
          )
        ).rows as { outcome: string; n: number }[];
        const count = (o: string) => rows.find((x) => x.outcome === o)?.n ?? 0;
        const finished = v.steps.filter((x: any) => x.status === 'succeeded' || (x.status === 'failed' && x.exitCode !== null)).length;
        const started = v.steps.reduce((n: number, x: any) => n + x.attempts, 0);
        if (count('succeeded') + count('failed') !== finished)
          problems.push(`${v.id}: ${finished} finished steps but ${count('succeeded') + count('failed')} outcome entries`);
        if (count('allowed') !== started) problems.push(`${v.id}: ${started} step starts but ${count('allowed')} "allowed" entries`);
      }
    } finally {
      await client.end();
    }
    assert.deepEqual(problems, [], `${JSON.stringify(views, null, 1)}\n${log()}`);
    const verify = await runCli(['audit', 'verify', '--dir', dir, '--database-url', db.url, '--json']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.equal(JSON.parse(verify.stdout).ok, true);
  }

  /** Asks `via` for plans every 50 ms until stopped; returns every answer that was not a 200. */
  function keepAsking(via: Requester): { stop(): Promise<string[]> } {
    let asking = true;
    const failures: string[] = [];
    const loop = (async () => {
      while (asking) {
        const res = await via.request('GET', '/v1/plans?limit=5').catch((e: Error) => ({ status: 0, body: e.message }));
        if (res.status !== 200) failures.push(`${res.status} ${JSON.stringify(res.body)}`);
        await sleep(50);
      }
    })();
    return {
      async stop() {
        asking = false;
        await loop;
        return failures;
      },
    };
  }

  before(async () => {
    db = await startPrivatePostgres();
    proxy = await startTcpProxy(db.port);
    shared = sharedMarkDir();
    dir = join(tempDir(), 'data');
    adminKey = (await initDataDir(dir, { databaseUrl: db.url })).adminKey;
    writeTestTools(dir, { sharedDir: shared });
    configureExecutor(dir, { leaseSeconds: 2, pollMilliseconds: 100, retryAttempts: 0, drainSeconds: 5 });
    [serve, replica] = await Promise.all([startServe(dir, ['--database-url', db.url]), startApiProcess(dir, db.url)]);
    s = httpClient(serve.url, adminKey);
    r = httpClient(replica.url, adminKey);
  });
  after(async () => {
    // Each on its own: a failing cleanup must not leave the private server running.
    if (e2) await stopChild(e2).catch(() => undefined);
    await serve?.stop().catch(() => undefined);
    await replica?.stop().catch(() => undefined);
    await proxy?.close();
    await db?.remove();
    if (dir) removeWorkRoot(dir);
    if (dir) rmSync(join(dir, '..'), { recursive: true, force: true });
    if (shared) removeSharedMarkDir(shared);
  });

  test('100 concurrent duplicate execute requests across two replicas make one execution', async () => {
    const plan = await proposeApproved(r, [{ tool: 'sleep', action: 'wait', input: { seconds: 0 } }]);
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 ? s : r).request('POST', `/v1/plans/${plan.id}/executions`, { body: {} })),
    );
    assert.equal(answers.filter((a) => a.status === 201).length, 1, JSON.stringify(answers.map((a) => a.status)));
    const odd = answers.filter((a) => a.status !== 201 && a.status !== 200);
    assert.deepEqual(
      odd.map((a) => a.body),
      [],
    );
    assert.equal(new Set(answers.map((a) => a.body.id)).size, 1, 'every answer names the one execution');
  });

  test('PostgreSQL stopped mid-step and started again: every process survives, 503 meanwhile, nothing lost or run twice', async () => {
    const queued = await queue(3, r);
    await midStep(queued.map((q) => q.id));
    await db.stop();
    try {
      const ready = await r.request('GET', '/readyz', { key: null });
      assert.equal(ready.status, 503, JSON.stringify(ready.body));
      assert.equal(ready.body.error.details.checks.store, 'unreachable');
      assert.equal((await s.request('GET', '/healthz', { key: null })).status, 200, 'liveness is apart from readiness');
      // Every request refuses with the one cause, whichever check meets the outage first: the route's
      // own query while the replica's reserved budget lasts, the shared request budget once it is
      // spent (more requests than one reservation of the address budget, 120, so both are met).
      for (const api of [s, r]) {
        const during = await Promise.all(Array.from({ length: 125 }, () => api.request('GET', '/v1/plans')));
        assert.deepEqual([...new Set(during.map((d) => `${d.status} ${d.body.error?.code}`))], ['503 STORE_UNAVAILABLE']);
      }
      await sleep(1_500); // long enough for the executor's claims and writes to fail a few times
    } finally {
      // Started again even when an assertion above failed, so the next test does not inherit the outage.
      await db.start();
    }
    for (const api of [r, s])
      await until('readiness to come back', async () => (await api.request('GET', '/readyz', { key: null })).status === 200);
    await settled(queued, () => serve?.output() ?? '');
  });

  test('a replica killed with SIGKILL and an executor partitioned mid-step: the other replica serves throughout', async () => {
    // E2 reaches PostgreSQL only through the proxy.
    e2 = spawnExecutor(dir, `postgres://countersign@127.0.0.1:${proxy.port}/countersign`);
    await until('E2 to start', async () => /executor \S+ started/.test(e2?.stderr() ?? ''), 60_000);
    const asking = keepAsking(r);
    // The serve's API child, killed: its supervisor stops E1 (which drains) and exits; E2 is left.
    const api = childrenOf(serve!.pid).find((pid) => cmdline(pid).includes('api'));
    assert.ok(api, 'found the serve’s API process');
    process.kill(api, 'SIGKILL');
    assert.notEqual(await serve!.stop(), 0, 'serve reports the loss of its API');
    serve = undefined;
    const queued = await queue(3, r);
    await midStep(queued.map((q) => q.id));
    proxy.partition();
    await sleep(1_500); // E2's writes and claims fail meanwhile
    proxy.heal();
    await settled(queued, () => e2?.stderr() ?? '');
    assert.deepEqual(await asking.stop(), [], 'the surviving replica answered every request');
    assert.ok(proxy.cut() > 0, 'the partition cut live connections');
    assert.equal(e2.child.exitCode, null, `E2 survived the partition:\n${e2.stderr()}`);
  });
});
