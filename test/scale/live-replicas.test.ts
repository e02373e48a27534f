// Two API replicas on one PostgreSQL: an SSE client on replica A sees every event of an execution
// whose plan was run through replica B by an executor of its own, and a key revoked through B
// ends A's open stream at once. Both replicas' streams are set to look on their own only every
// ten minutes, so only PostgreSQL's notifications (LISTEN/NOTIFY) can deliver either in time.
// On SQLite (one API process) a revocation reaches the process's own streams at once too.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../src/api/app.ts';
import { type RunningExecutor, startExecutor } from '../../src/executor/executor.ts';
import { openServerContext, type ServerContext } from '../../src/server/context.ts';
import { ENGINES } from '../support/engines.ts';
import { queueExecution, removeWorkRoot, waitForExecution } from '../support/execution.ts';
import { httpClient, type Requester } from '../support/http-client.ts';
import { addPrincipal } from '../support/principals.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { openSse } from '../support/sse.ts';
import { writeTestTools } from '../support/tools.ts';

/** Ten minutes: longer than any wait in this file, so a stream that waits on its own timers fails the test. */
const NEVER_MS = 600_000;

interface Replica {
  url: string;
  ctx: ServerContext;
  app: FastifyInstance;
  api: Requester;
}

/** Another API replica on the same data directory and database: its own context, pool and listener. */
async function replica(s: TestServer): Promise<Replica> {
  const ctx = await openServerContext(s.dir, { databaseUrl: s.databaseUrl });
  const app = await buildApi(ctx, {
    bodyLimitBytes: ctx.config.server.bodyLimitBytes,
    trustProxy: false,
    rateLimit: { ...ctx.config.rateLimit, enabled: false },
    version: 'test',
    logger: false,
    streamRecheckMs: NEVER_MS,
    streamLivePollMs: NEVER_MS,
    streamKeepAliveMs: NEVER_MS,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, ctx, app, api: httpClient(url, s.init.adminKey) };
}

async function closeReplica(r: Replica | undefined): Promise<void> {
  if (!r) return;
  await r.app.close();
  await r.ctx.close();
}

async function revocationReachesStream(s: TestServer, watcherOn: Replica, revokeOn: Requester): Promise<void> {
  const watcher = await addPrincipal(s, `watcher-${watcherOn.ctx.store.engine}`, 'human', ['auditor']);
  const keys = (await s.request('GET', `/v1/principals/${watcher.id}/keys`)).body.keys;
  // No executor runs meanwhile: the execution stays queued and the stream stays open.
  const { executionId } = await queueExecution(s, [{ tool: 'sleep', action: 'wait', input: { seconds: 0 } }]);
  const sse = await openSse(`${watcherOn.url}/v1/executions/${executionId}/events`, watcher.key);
  try {
    assert.equal(sse.status, 200);
    assert.ok(await sse.until((f) => f.event === 'execution.queued'));
    assert.equal((await revokeOn.request('POST', `/v1/keys/${keys[0].id}/revoke`)).status, 200);
    assert.ok(await sse.until((f) => f.event === 'error'), JSON.stringify(sse.frames));
    assert.match(sse.frames.find((f) => f.event === 'error')?.data ?? '', /"code":"UNAUTHENTICATED"/);
  } finally {
    await sse.close();
  }
}

const postgres = ENGINES.find((e) => e.name === 'postgres')!;

describe('two API replicas on one PostgreSQL', { skip: postgres.skip }, () => {
  let s: TestServer;
  let a: Replica | undefined;
  let b: Replica | undefined;
  let exe: RunningExecutor | undefined;
  before(async () => {
    s = await startTestServer(postgres, { configure: (dir) => writeTestTools(dir) });
    a = await replica(s);
    b = await replica(s);
  });
  after(async () => {
    await exe?.stop();
    await closeReplica(a);
    await closeReplica(b);
    if (s) removeWorkRoot(s.dir);
    await s?.close();
  });

  test('both replicas are ready and listening', async () => {
    // Listening: a stream waits on notifications alone (with NEVER_MS it never polls).
    for (const r of [a!, b!]) {
      const deadline = Date.now() + 20_000;
      while (!r.ctx.live.connected && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
      assert.equal(r.ctx.live.connected, true, 'the replica listens for notifications');
    }
    for (const r of [a!, b!]) {
      const ready = await r.api.request('GET', '/readyz', { key: null });
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
      assert.deepEqual(ready.body.checks, { store: 'ok', migrations: 'current', policy: 'loaded' });
    }
  });

  test('a stream on replica A sees every event of an execution run through replica B', async () => {
    const { executionId } = await queueExecution(b!.api, [
      { tool: 'sleep', action: 'wait', input: { seconds: 0 } },
      { tool: 'sleep', action: 'wait', input: { seconds: 0 } },
    ]);
    const sse = await openSse(`${a!.url}/v1/executions/${executionId}/events`, s.init.adminKey);
    try {
      assert.ok(await sse.until((f) => f.event === 'execution.queued'));
      // The executor has a store of its own, as on another host.
      exe = await startExecutor(s.dir, { databaseUrl: s.databaseUrl, log: () => {} });
      assert.ok(await sse.until((f) => f.event === 'execution.finished'), JSON.stringify(sse.frames));
      const view = await waitForExecution(b!.api, executionId);
      assert.equal(view.status, 'succeeded');
      const stored = (await b!.api.request('GET', `/v1/executions/${executionId}/events`)).body.events;
      assert.deepEqual(
        sse.frames.filter((f) => f.id).map((f) => `${f.id} ${f.event}`),
        stored.map((e: any) => `${e.seq} ${e.type}`),
        'every event, in order, once',
      );
    } finally {
      await sse.close();
      await exe?.stop();
      exe = undefined;
    }
  });

  test('a key revoked through replica B ends its open stream on replica A at once', async () => {
    await revocationReachesStream(s, a!, b!.api);
  });
});

describe('one API process on SQLite', () => {
  let s: TestServer;
  let a: Replica | undefined;
  before(async () => {
    s = await startTestServer(ENGINES[0]!, { configure: (dir) => writeTestTools(dir) });
    a = await replica(s);
  });
  after(async () => {
    await closeReplica(a);
    await s?.close();
  });

  test('a key revoked ends the process’s open stream at once', async () => {
    await revocationReachesStream(s, a!, a!.api);
  });
});
