import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningExecutor, startExecutor } from '../src/executor/executor.ts';
import { runCli } from './support/cli.ts';
import { ENGINES } from './support/engines.ts';
import { echoPlan, startTestServer, type TestServer } from './support/server.ts';
import { writeTestTools } from './support/tools.ts';

describe('countersign execute / logs / freeze', () => {
  let s: TestServer;
  let exe: RunningExecutor;
  const env = () => ({ COUNTERSIGN_SERVER: s.url, COUNTERSIGN_TOKEN: s.init.adminKey });
  before(async () => {
    s = await startTestServer(ENGINES[0]!, { configure: (dir) => writeTestTools(dir) });
    exe = await startExecutor(s.dir, { store: s.ctx.store, log: () => {} });
  });
  after(async () => {
    await exe?.stop();
    await s?.close();
  });

  test('execute --wait follows the live log and exits 0 on success', async () => {
    const plan = (await s.request('POST', '/v1/plans', { body: echoPlan('live from the CLI') })).body;
    const r = await runCli(['execute', plan.id, '--wait'], { env: env() });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /▶ step 1 echo\.say/);
    assert.match(r.stdout, /\| live from the CLI/);
    assert.match(r.stdout, /■ execution succeeded/);
    const id = /Execution (exe_\w+)/.exec(r.stdout)?.[1];
    assert.ok(id);
    const logs = await runCli(['logs', id], { env: env() });
    assert.match(logs.stdout, /status: succeeded/);
    assert.match(logs.stdout, /\| live from the CLI/);
  });

  test('execute --wait exits 1 when the plan fails and rolls back', async () => {
    const plan = (
      await s.request('POST', '/v1/plans', {
        body: {
          intent: 'fails',
          environment: 'dev',
          steps: [{ tool: 'fail', action: 'now', input: {} }],
          rollback: [{ tool: 'echo', action: 'say', input: { message: 'undo' } }],
        },
      })
    ).body;
    const r = await runCli(['execute', plan.id, '--wait', '--json'], { env: env() });
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.at(-1).execution.status, 'rolled_back');
  });

  test('freeze and unfreeze through the CLI', async () => {
    assert.equal((await runCli(['freeze', '--environment', 'dev', '--reason', 'maintenance'], { env: env() })).code, 0);
    const listed = await runCli(['freezes', '--json'], { env: env() });
    assert.equal(JSON.parse(listed.stdout).freezes[0].scope, 'dev');
    const plan = (await s.request('POST', '/v1/plans', { body: echoPlan() })).body;
    const blocked = await runCli(['execute', plan.id], { env: env() });
    assert.equal(blocked.code, 7);
    assert.match(blocked.stderr, /frozen/);
    assert.equal((await runCli(['unfreeze', '--environment', 'dev'], { env: env() })).code, 0);
  });
});
