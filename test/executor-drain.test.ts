// Issue 4 item 6: on SIGTERM an executor finishes its current step, releases the execution,
// and another executor continues from the next step — nothing runs twice.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startExecutor } from '../src/executor/executor.ts';
import { ENGINES } from './support/engines.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { writeTestTools } from './support/tools.ts';

describe('graceful drain', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(ENGINES[0]!, {
      configure: (dir) => {
        writeTestTools(dir);
        const file = join(dir, 'countersign.yaml');
        writeFileSync(file, readFileSync(file, 'utf8').replace(/pollMilliseconds: \d+/, 'pollMilliseconds: 50'));
      },
    });
  });
  after(async () => s?.close());

  test('the current step finishes, the execution is released and resumed by another executor', async () => {
    const plan = (
      await s.request('POST', '/v1/plans', {
        body: {
          intent: 'drain',
          environment: 'dev',
          steps: [
            { tool: 'sleep', action: 'wait-once', input: { seconds: 1 } },
            { tool: 'echo', action: 'say', input: { message: 'second' } },
          ],
        },
      })
    ).body;
    const exec = (await s.request('POST', `/v1/plans/${plan.id}/executions`, { body: {} })).body;
    const first = await startExecutor(s.dir, { store: s.ctx.store, log: () => {}, owner: 'first' });
    for (let i = 0; i < 200; i++) {
      const e = (await s.request('GET', `/v1/executions/${exec.id}`)).body;
      if (e.steps[0].status === 'running') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    await first.stop();
    let e = (await s.request('GET', `/v1/executions/${exec.id}`)).body;
    assert.equal(e.status, 'queued');
    assert.equal(e.steps[0].status, 'succeeded');
    assert.equal(e.steps[1].status, 'pending');
    const second = await startExecutor(s.dir, { store: s.ctx.store, log: () => {}, owner: 'second' });
    for (let i = 0; i < 200 && ['queued', 'running'].includes(e.status); i++) {
      await new Promise((r) => setTimeout(r, 50));
      e = (await s.request('GET', `/v1/executions/${exec.id}`)).body;
    }
    await second.stop();
    assert.equal(e.status, 'succeeded');
    assert.equal(e.steps[0].attempts, 1, 'the non-idempotent step ran exactly once');
    assert.equal(e.steps[1].stdout, 'second\n');
    const events = (await s.request('GET', `/v1/executions/${exec.id}/events`)).body.events.map((x: { type: string }) => x.type);
    assert.ok(events.includes('execution.released'));
    const audit = (await s.request('GET', '/v1/audit?limit=1000')).body.entries;
    assert.ok(
      audit.some((e: { details: { reason?: string } }) => e.details.reason === 'released by a draining executor'),
      'the release is audited',
    );
  });
});
