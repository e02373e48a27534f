import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningExecutor, startExecutor } from '../src/executor/executor.ts';
import { runCli } from './support/cli.ts';
import { ENGINES } from './support/engines.ts';
import { echoPlan, startTestServer, type TestServer } from './support/server.ts';

describe('grant key rotation without downtime', () => {
  let s: TestServer;
  let exe: RunningExecutor | null = null;
  before(async () => {
    s = await startTestServer(ENGINES[0]!);
  });
  after(async () => {
    await exe?.stop();
    await s?.close();
  });

  const wait = async (id: string) => {
    for (let i = 0; i < 200; i++) {
      const e = (await s.request('GET', `/v1/executions/${id}`)).body;
      if (!['queued', 'running'].includes(e.status)) return e;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('timeout');
  };

  test('grants minted before and after a rotation both run on an executor started before it', async () => {
    exe = await startExecutor(s.dir, { store: s.ctx.store, log: () => {} });
    await exe.stop();
    const before = (await s.request('POST', '/v1/plans', { body: echoPlan('old key') })).body;
    const oldExec = (await s.request('POST', `/v1/plans/${before.id}/executions`, { body: {} })).body;
    exe = await startExecutor(s.dir, { store: s.ctx.store, log: () => {} });
    const rotated = await runCli(['grant', 'rotate-key', '--dir', s.dir, '--json']);
    assert.equal(rotated.code, 0, rotated.stderr);
    const { kid, previous } = JSON.parse(rotated.stdout);
    assert.notEqual(kid, previous);
    const afterPlan = (await s.request('POST', '/v1/plans', { body: echoPlan('new key') })).body;
    const newExec = (await s.request('POST', `/v1/plans/${afterPlan.id}/executions`, { body: {} })).body;
    assert.equal((await wait(oldExec.id)).status, 'succeeded');
    assert.equal((await wait(newExec.id)).status, 'succeeded');
    const audit = (await s.request('GET', '/v1/audit?limit=1000')).body.entries;
    assert.ok(
      audit.some((e: { details: { kid?: string } }) => e.details.kid === kid),
      'the new grant names the new key',
    );
  });
});
