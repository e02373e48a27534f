import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI_ARGS, runCli } from './support/cli.ts';
import { tempDir } from './support/server.ts';

describe('countersign CLI end to end (SQLite)', () => {
  const root = tempDir('cs-cli-');
  const dir = join(root, 'data');
  let adminKey = '';
  let url = '';
  let server: ReturnType<typeof spawn>;
  let serverExit: Promise<number | null>;

  before(async () => {
    const init = await runCli(['init', '--dir', dir, '--json']);
    assert.equal(init.code, 0, init.stderr);
    const r = JSON.parse(init.stdout);
    assert.equal(r.dir, dir);
    adminKey = r.adminKey;
    server = spawn(process.execPath, [...CLI_ARGS, 'serve', '--dir', dir, '--port', '0', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    serverExit = new Promise((resolve) => server.on('close', resolve));
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout?.on('data', (d) => {
        out += d;
        const m = /"url":\s*"([^"]+)"/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      server.on('close', (code) => reject(new Error(`serve exited early with ${code}`)));
    });
  });
  after(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  const env = () => ({ COUNTERSIGN_SERVER: url, COUNTERSIGN_TOKEN: adminKey });

  test('init refuses to overwrite an existing directory', async () => {
    const again = await runCli(['init', '--dir', dir]);
    assert.equal(again.code, 3);
    assert.match(again.stderr, /already exists/);
  });

  test('serve answers /healthz', async () => {
    const res = await fetch(`${url}/healthz`);
    assert.equal(res.status, 200);
  });

  test('plan propose from stdin, show and list', async () => {
    const body = JSON.stringify({
      intent: 'cli hello',
      environment: 'dev',
      steps: [{ tool: 'echo', action: 'say', input: { message: 'hi' } }],
    });
    const proposed = await runCli(['plan', 'propose', '-', '--json'], { env: env(), input: body });
    assert.equal(proposed.code, 0, proposed.stderr);
    const plan = JSON.parse(proposed.stdout);
    assert.equal(plan.source, 'cli');
    assert.equal(plan.status, 'approved');
    const shown = await runCli(['plan', 'show', plan.id], { env: env() });
    assert.equal(shown.code, 0);
    assert.match(shown.stdout, new RegExp(plan.hash));
    assert.match(shown.stdout, /echo\.say/);
    const listed = await runCli(['plan', 'list', '--json'], { env: env() });
    assert.equal(JSON.parse(listed.stdout).plans[0].id, plan.id);
  });

  test('remote errors give a message, a hint and a documented exit code', async () => {
    const noKey = await runCli(['plan', 'list'], { env: { COUNTERSIGN_SERVER: url, COUNTERSIGN_TOKEN: '' } });
    assert.equal(noKey.code, 4);
    assert.match(noKey.stderr, /hint:/);
    const missing = await runCli(['plan', 'show', 'pln_nope', '--json'], { env: env() });
    assert.equal(missing.code, 6);
    assert.equal(JSON.parse(missing.stderr).error.code, 'NOT_FOUND');
    const bad = await runCli(['plan', 'propose', '-'], { env: env(), input: '{"intent":"x","environment":"dev","steps":[]}' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /steps/);
    const down = await runCli(['plan', 'list'], { env: { COUNTERSIGN_SERVER: 'http://127.0.0.1:1', COUNTERSIGN_TOKEN: adminKey } });
    assert.equal(down.code, 9);
  });

  test('--help documents exit codes and usage errors exit 2', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes/);
    assert.equal((await runCli(['no-such-command'])).code, 2);
    const notInit = await runCli(['audit', 'verify', '--dir', join(root, 'nothing')]);
    assert.equal(notInit.code, 3);
    assert.match(notInit.stderr, /countersign init/);
  });

  test('SIGTERM drains, checkpoints the head, and the log verifies', async () => {
    server.kill('SIGTERM');
    assert.equal(await serverExit, 0);
    const v = await runCli(['audit', 'verify', '--dir', dir, '--json']);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const report = JSON.parse(v.stdout);
    assert.equal(report.lastCheckpoint.seq, report.lastSeq);
  });
});
