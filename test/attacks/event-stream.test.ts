// Invariant 16: an event subscription checks read permission on that execution in that tenant.
// Another tenant's subscriber finds nothing (404), a principal without read permission is
// refused (403), no credential is 401 — and none of them receives a single frame.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { systemRuntime } from '../../src/runtime.ts';
import { provisionTenant } from '../../src/server/tenants.ts';
import { ENGINES } from '../support/engines.ts';
import {
  configureExecutor,
  type ExecutorChild,
  queueExecution,
  removeWorkRoot,
  signTestTools,
  spawnExecutor,
  stopChild,
  waitForExecution,
} from '../support/execution.ts';
import { addPrincipal } from '../support/principals.ts';
import { rawSql } from '../support/raw-db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { writeTestTools } from '../support/tools.ts';

const sha = (path: string) =>
  createHash('sha256')
    .update(readFileSync(realpathSync(path)))
    .digest('hex');

/** `seq 1 N`: a real tool whose output arrives in several chunks, so the live log has many events. */
function writeSeqTool(dir: string): void {
  writeFileSync(
    join(dir, 'tools', 'seq.yaml'),
    `apiVersion: countersign/v1
kind: Tool
name: seq
version: 1.0.0
executable: { path: /usr/bin/seq, sha256: ${sha('/usr/bin/seq')} }
actions:
  count:
    argv: ["1", "{{n}}"]
    input: { properties: { n: { type: integer, minimum: 1, maximum: 100000 } }, required: [n] }
    risk: low
`,
  );
}

interface Frame {
  id: number;
  event: string;
  data: any;
}

/** Parses a text/event-stream body into frames; comments (keep-alives) are dropped. */
function parseFrames(text: string): Frame[] {
  const frames: Frame[] = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l !== '' && !l.startsWith(':'));
    if (lines.length === 0) continue;
    const field = (name: string) => lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
    const id = field('id');
    const event = field('event');
    const data = field('data');
    assert.ok(id !== undefined && event !== undefined && data !== undefined, `incomplete frame: ${JSON.stringify(block)}`);
    frames.push({ id: Number(id), event, data: JSON.parse(data) });
  }
  return frames;
}

/** Opens the stream and reads it to its end (bounded): the server ends it after a terminal status. */
async function readStream(
  s: TestServer,
  id: string,
  options: { key?: string | null; lastEventId?: string } = {},
): Promise<{ status: number; contentType: string; text: string }> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  const key = options.key === undefined ? s.init.adminKey : options.key;
  if (key) headers.authorization = `Bearer ${key}`;
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  const res = await fetch(`${s.url}/v1/executions/${id}/events`, { headers, signal: AbortSignal.timeout(60_000) });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

function assertNoFrames(r: { status: number; contentType: string; text: string }, status: number, code: string) {
  assert.equal(r.status, status, r.text);
  assert.doesNotMatch(r.contentType, /event-stream/);
  assert.doesNotMatch(r.text, /^(id|event|data):/m, 'no SSE frame leaks');
  assert.equal(JSON.parse(r.text).error.code, code);
}

for (const engine of ENGINES) {
  describe(`execution event stream authorization on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    let executor: ExecutorChild;
    let executionId: string;
    let live: Frame[];
    let otherTenantKey: string;
    before(async () => {
      s = await startTestServer(engine, {
        configure: (dir) => {
          writeTestTools(dir);
          writeSeqTool(dir);
          signTestTools(dir);
          configureExecutor(dir, { pollMilliseconds: 50 });
        },
      });
      otherTenantKey = (await provisionTenant(s.ctx.store, systemRuntime, 'tenant-b')).adminKey;
      executionId = (await queueExecution(s, [{ tool: 'sleep', action: 'wait', input: { seconds: 1 } }])).executionId;
      // Subscribe while the execution is still queued, then start the executor: a live stream.
      const streaming = readStream(s, executionId);
      executor = spawnExecutor(s.dir, s.databaseUrl);
      const r = await streaming;
      assert.equal(r.status, 200, r.text);
      live = parseFrames(r.text);
    });
    after(async () => {
      if (executor) await stopChild(executor);
      if (s) removeWorkRoot(s.dir);
      await s?.close();
    });

    test('streams id/event/data frames live, in order, ending after execution.finished', async () => {
      const view = await waitForExecution(s, executionId, 5_000);
      assert.equal(view.status, 'succeeded');
      const types = live.map((f) => f.event);
      assert.deepEqual(
        types.filter((t) => t !== 'output'),
        ['execution.queued', 'execution.started', 'step.started', 'step.finished', 'execution.finished'],
      );
      assert.equal(types.at(-1), 'execution.finished');
      assert.equal(live.at(-1)!.data.status, 'succeeded');
      assert.deepEqual(
        live.map((f) => f.id),
        live.map((_, i) => i + 1),
        'ids are the event sequence numbers, gapless from 1',
      );
      for (const f of live) assert.equal(typeof f.data.ts, 'string');
    });

    test('resuming with Last-Event-ID returns only the events after it', async () => {
      const n = 2;
      const r = await readStream(s, executionId, { lastEventId: String(n) });
      assert.equal(r.status, 200);
      assert.match(r.contentType, /text\/event-stream/);
      const resumed = parseFrames(r.text);
      assert.deepEqual(
        resumed,
        live.filter((f) => f.id > n),
      );
      const last = live.at(-1)!.id;
      assert.deepEqual(parseFrames((await readStream(s, executionId, { lastEventId: String(last) })).text), []);
    });

    test('the JSON form lists events, and ?after= returns only the later ones', async () => {
      const all = await s.request('GET', `/v1/executions/${executionId}/events`);
      assert.equal(all.status, 200);
      assert.equal(all.body.status, 'succeeded');
      assert.deepEqual(
        all.body.events.map((e: any) => [e.seq, e.type]),
        live.map((f) => [f.id, f.event]),
      );
      const after3 = await s.request('GET', `/v1/executions/${executionId}/events?after=3`);
      assert.equal(after3.status, 200);
      assert.deepEqual(
        after3.body.events.map((e: any) => e.seq),
        live.filter((f) => f.id > 3).map((f) => f.id),
      );
      const bad = await s.request('GET', `/v1/executions/${executionId}/events?after=-1`);
      assert.equal(bad.status, 400);
    });

    test("another tenant's admin gets 404 and no frames, streamed or JSON, live or resumed", async () => {
      assertNoFrames(await readStream(s, executionId, { key: otherTenantKey }), 404, 'NOT_FOUND');
      assertNoFrames(await readStream(s, executionId, { key: otherTenantKey, lastEventId: '0' }), 404, 'NOT_FOUND');
      const json = await s.request('GET', `/v1/executions/${executionId}/events?after=0`, { key: otherTenantKey });
      assert.equal(json.status, 404);
      assert.equal(json.body.events, undefined);
      assert.equal((await s.request('GET', `/v1/executions/${executionId}`, { key: otherTenantKey })).status, 404);
    });

    test('a principal without execution.read gets 403 and no frames; an auditor of the tenant may read', async () => {
      const nobody = await addPrincipal(s, 'no-groups', 'human', []);
      assertNoFrames(await readStream(s, executionId, { key: nobody.key }), 403, 'POLICY_DENIED');
      const json = await s.request('GET', `/v1/executions/${executionId}/events`, { key: nobody.key });
      assert.equal(json.status, 403);
      assert.equal(json.body.events, undefined);
      // Positive control: the same request with read permission streams.
      const auditor = await addPrincipal(s, 'auditor', 'human', ['auditor']);
      const ok = await readStream(s, executionId, { key: auditor.key });
      assert.equal(ok.status, 200);
      assert.deepEqual(parseFrames(ok.text), live);
    });

    test('no key or an invalid key gets 401 and no frames', async () => {
      assertNoFrames(await readStream(s, executionId, { key: null }), 401, 'UNAUTHENTICATED');
      assertNoFrames(await readStream(s, executionId, { key: 'csk_not_a_real_key' }), 401, 'UNAUTHENTICATED');
      const forged = `${s.init.adminKey.slice(0, -4)}AAAA`;
      assertNoFrames(await readStream(s, executionId, { key: forged }), 401, 'UNAUTHENTICATED');
    });

    test('the live output events of a step add up to its stored stdout, and a chatty step still succeeds', async () => {
      // Several executions, so the executor's concurrent output appends get their chances to collide.
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push((await queueExecution(s, [{ tool: 'seq', action: 'count', input: { n: 20000 } }])).executionId);
      const expected = `${Array.from({ length: 20000 }, (_, i) => i + 1).join('\n')}\n`;
      const problems: string[] = [];
      for (const id of ids) {
        const view = await waitForExecution(s, id, 60_000);
        const frames = parseFrames((await readStream(s, id)).text);
        const live = frames
          .filter((f) => f.event === 'output' && f.data.stream === 'stdout')
          .map((f) => f.data.chunk)
          .join('');
        const finishedAt = frames.findIndex((f) => f.event === 'step.finished');
        const lateOutput = frames.slice(finishedAt + 1).filter((f) => f.event === 'output').length;
        if (view.status !== 'succeeded') problems.push(`${id}: ${view.status} (${view.reason})`);
        else if (view.steps[0].stdout !== expected) problems.push(`${id}: stored stdout is ${view.steps[0].stdout.length} bytes`);
        if (live !== expected) problems.push(`${id}: the live output events carry ${live.length} of ${expected.length} bytes`);
        if (lateOutput > 0) problems.push(`${id}: ${lateOutput} output events after step.finished`);
      }
      assert.deepEqual(problems, []);
    });

    test('a valid id of an execution that does not exist is 404 for the owner too', async () => {
      assertNoFrames(await readStream(s, 'exe_00000000000000000000000000'), 404, 'NOT_FOUND');
    });
  });
}

for (const engine of ENGINES) {
  describe(`execution event stream failures on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(engine, {
        configure: (dir) => {
          writeTestTools(dir);
          signTestTools(dir);
        },
      });
    });
    after(async () => s?.close());

    test('a store failure mid-stream ends it with a generic error frame, never the internal message', async () => {
      // No executor: the execution stays queued and the stream keeps polling the store.
      const { executionId } = await queueExecution(s, [{ tool: 'sleep', action: 'wait', input: { seconds: 1 } }]);
      const res = await fetch(`${s.url}/v1/executions/${executionId}/events`, {
        headers: { accept: 'text/event-stream', authorization: `Bearer ${s.init.adminKey}` },
        signal: AbortSignal.timeout(30_000),
      });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      let text = '';
      // The first frame (execution.queued) proves the stream is live before the store breaks.
      while (!text.includes('\n\n')) {
        const { value, done } = await reader.read();
        assert.equal(done, false);
        text += Buffer.from(value!).toString('utf8');
      }
      await rawSql(s, 'alter table execution_events rename to execution_events_away');
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          text += Buffer.from(value!).toString('utf8');
        }
      } finally {
        await rawSql(s, 'alter table execution_events_away rename to execution_events');
      }
      const error = /event: error\ndata: (.*)\n/.exec(text);
      assert.ok(error, `the stream ended without an error frame: ${JSON.stringify(text)}`);
      assert.doesNotMatch(error[1]!, /execution_events|relation|no such table|SQLITE|sql/i, 'internal error text reached the client');
    });
  });
}
