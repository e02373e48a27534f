// A PostgreSQL restart is routine (upgrades, failover). Under a real `serve` (API and executor
// processes), the test's own PostgreSQL is stopped mid-step and started again: every process
// stays up, the API answers 503 (readiness and requests) while the database is away and 200
// after, every execution ends final or needs_attention, no non-idempotent step runs twice, every
// step that ran has its audit entries, and `audit verify` passes.
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { initDataDir } from '../../src/server/init.ts';
import { runCli } from '../support/cli.ts';
import {
  configureExecutor,
  queueExecution,
  removeSharedMarkDir,
  removeWorkRoot,
  sharedMarkDir,
  TERMINAL_STATUSES,
  waitForEvent,
  waitForExecution,
} from '../support/execution.ts';
import { httpClient, type Requester } from '../support/http-client.ts';
import { type PrivatePostgres, privatePostgresSkip, startPrivatePostgres } from '../support/private-postgres.ts';
import { type ServeProcess, startServe } from '../support/serve-process.ts';
import { tempDir } from '../support/server.ts';
import { writeTestTools } from '../support/tools.ts';

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('a PostgreSQL restart under a running serve', { skip: privatePostgresSkip }, () => {
  let db: PrivatePostgres;
  let serve: ServeProcess | undefined;
  let dir: string;
  let shared: string;
  let api: Requester;

  before(async () => {
    db = await startPrivatePostgres();
    shared = sharedMarkDir();
    dir = join(tempDir(), 'data');
    const init = await initDataDir(dir, { databaseUrl: db.url });
    writeTestTools(dir, { sharedDir: shared });
    configureExecutor(dir, { leaseSeconds: 2, pollMilliseconds: 100, retryAttempts: 0, drainSeconds: 5 });
    serve = await startServe(dir, ['--database-url', db.url]);
    api = httpClient(serve.url, init.adminKey);
  });
  after(async () => {
    // Each step on its own: one failing cleanup must not leave the private server running.
    await serve?.stop().catch(() => undefined);
    await db?.remove();
    if (dir) removeWorkRoot(dir);
    if (dir) rmSync(join(dir, '..'), { recursive: true, force: true });
    if (shared) removeSharedMarkDir(shared);
  });

  test('every process survives, answers 503 meanwhile, and every execution ends with nothing run twice', async () => {
    const queued: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { executionId } = await queueExecution(api, [
        { tool: 'mark', action: 'once', input: { name: `restart-${i}` } },
        { tool: 'sleep', action: 'wait', input: { seconds: 1 } },
      ]);
      queued.push(executionId);
    }
    // Mid-step: the first execution's sleep (its second step) is running in its sandbox.
    await until('the first sleep step to start', async () =>
      (await waitForEvent(api, queued[0] as string, 'step.started')).some((e) => e.type === 'step.started' && e.data.index === 1),
    );
    await db.stop();

    const ready = await api.request('GET', '/readyz', { key: null });
    assert.equal(ready.status, 503, JSON.stringify(ready.body));
    assert.equal(ready.body.error.details.checks.store, 'unreachable');
    assert.equal((await api.request('GET', '/healthz', { key: null })).status, 200, 'liveness is apart from readiness');
    const during = await api.request('GET', '/v1/plans');
    assert.equal(during.status, 503, JSON.stringify(during.body));
    assert.equal(during.body.error.code, 'STORE_UNAVAILABLE');
    await sleep(1_500); // long enough for the executor's claims and writes to fail a few times

    await db.start();
    await until('readiness to come back', async () => (await api.request('GET', '/readyz', { key: null })).status === 200);

    const views = [];
    for (const id of queued) views.push(await waitForExecution(api, id, 60_000));
    for (const v of views) assert.ok((TERMINAL_STATUSES as readonly string[]).includes(v.status), JSON.stringify(v));

    const problems: string[] = [];
    const marks = readdirSync(shared);
    for (const v of views) {
      const mark = v.steps.find((s: any) => s.tool === 'mark');
      if (mark.attempts > 1) problems.push(`${v.id}: the non-idempotent mark step started ${mark.attempts} times`);
      if (mark.status === 'succeeded' && !marks.includes(`restart-${queued.indexOf(v.id)}`))
        problems.push(`${v.id}: mark succeeded without effect`);
    }
    // No lost audit entry: every recorded step outcome has its audit entry, and every step the
    // audit log says was started is recorded as started.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      for (const v of views) {
        const rows = (
          await client.query(
            "select outcome, count(*)::int as n from audit_log where action = 'execution.step' and resource = $1 group by outcome",
            [`execution:${v.id}`],
          )
        ).rows as { outcome: string; n: number }[];
        const count = (o: string) => rows.find((r) => r.outcome === o)?.n ?? 0;
        const finished = v.steps.filter((s: any) => s.status === 'succeeded' || (s.status === 'failed' && s.exitCode !== null)).length;
        const started = v.steps.reduce((n: number, s: any) => n + s.attempts, 0);
        if (count('succeeded') + count('failed') !== finished)
          problems.push(`${v.id}: ${finished} finished steps but ${count('succeeded') + count('failed')} outcome entries`);
        if (count('allowed') !== started) problems.push(`${v.id}: ${started} step starts but ${count('allowed')} "allowed" entries`);
      }
    } finally {
      await client.end();
    }
    assert.deepEqual(problems, [], `${JSON.stringify(views, null, 1)}\n${serve?.output()}`);
    assert.ok(
      views.some((v) => v.status === 'succeeded'),
      'executions run again once the database is back',
    );

    const verify = await runCli(['audit', 'verify', '--dir', dir, '--database-url', db.url, '--json']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.equal(JSON.parse(verify.stdout).ok, true);
    assert.equal(await serve?.stop(), 0, `serve exits cleanly after the restart:\n${serve?.output()}`);
    serve = undefined;
  });
});
