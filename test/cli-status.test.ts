import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { CLI_ARGS, runCli } from './support/cli.ts';
import { ENGINES } from './support/engines.ts';
import { addPrincipal } from './support/principals.ts';
import { echoPlan, startTestServer, type TestServer } from './support/server.ts';

describe('countersign status and completion', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(ENGINES[0]!);
  });
  after(async () => s?.close());

  test('status shows the server, the caller, their inbox and freezes', async () => {
    const alice = await addPrincipal(s, 'alice', 'human', ['approvers']);
    const plan = (await s.request('POST', '/v1/plans', { body: echoPlan('needs review', 'staging') })).body;
    const r = await runCli(['status', '--json'], { env: { COUNTERSIGN_SERVER: s.url, COUNTERSIGN_TOKEN: alice.key } });
    assert.equal(r.code, 0, r.stderr);
    const st = JSON.parse(r.stdout);
    assert.equal(st.identity.name, 'alice');
    assert.equal(st.server.status, 'ok');
    assert.deepEqual(
      st.inbox.map((p: { id: string }) => p.id),
      [plan.id],
    );
    const human = await runCli(['status'], { env: { COUNTERSIGN_SERVER: s.url, COUNTERSIGN_TOKEN: alice.key } });
    assert.match(human.stdout, /1 plan\(s\) wait for your review/);
  });

  test('bash completion completes commands and options from the live tree', async () => {
    const script = (await runCli(['completion', 'bash'])).stdout;
    const complete = (words: string[]) => {
      const line = ['countersign', ...words];
      const program = `${script}\nCOMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${line.length - 1}; _countersign; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return spawnSync('bash', ['-c', program], { encoding: 'utf8' }).stdout.trim().split('\n');
    };
    assert.ok(complete(['pl']).includes('plan'));
    assert.ok(complete(['plan', '']).includes('propose'));
    assert.ok(complete(['plan', 'list', '--st']).includes('--status'));
    assert.equal((await runCli(['completion', 'fish'])).code, 2);
  });
});

describe('countersign plan wait', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(ENGINES[0]!);
  });
  after(async () => s?.close());

  test('prints approvals as they arrive and exits 0 once approved', async () => {
    const alice = await addPrincipal(s, 'alice', 'human', ['approvers']);
    const plan = (await s.request('POST', '/v1/plans', { body: echoPlan('wait for me', 'staging') })).body;
    // Approve only once the CLI has shown the plan pending, so the test never races the first poll.
    const child = spawn(process.execPath, [...CLI_ARGS, 'plan', 'wait', plan.id, '--timeout', '60'], {
      env: { ...process.env, COUNTERSIGN_SERVER: s.url, COUNTERSIGN_TOKEN: s.init.adminKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no pending line: ${stdout}${stderr}`)), 60_000);
      child.stdout.on('data', (d) => {
        stdout += d;
        if (stdout.includes('pending:')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const approved = await s.request('POST', `/v1/plans/${plan.id}/approvals`, {
      key: alice.key,
      body: { decision: 'approve', planHash: plan.hash },
    });
    assert.equal(approved.status, 201);
    const code = await closed;
    const r = { code, stdout, stderr };
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /pending: 0\/1 approvers — needs 1 more approval from group approvers/);
    assert.match(r.stdout, /: approved/);
  });
});
