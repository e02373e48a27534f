// Process roles (DESIGN.md) and invariant 12: `countersign serve` starts the API and the executor
// as two processes; only the executor's environment carries tool credentials, the step gets the
// one it declares, and the value never comes back through the API, the events or the audit log.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type InitResult, initDataDir } from '../src/server/init.ts';
import { CLI_ARGS, CLI_PATH } from './support/cli.ts';
import { ENGINES } from './support/engines.ts';
import { removeWorkRoot, signTestTools } from './support/execution.ts';
import { rawSql } from './support/raw-db.ts';
import { tempDir } from './support/server.ts';

const TOOL_SECRET = 's3cret-value-7f3a9c';
const CONVENTION_SECRET = 'also-secret-51e2b8';

const sha = (path: string) =>
  createHash('sha256')
    .update(readFileSync(realpathSync(path)))
    .digest('hex');

/** A real tool whose sandbox receives API_TOKEN from the executor's DEPLOY_TOKEN. */
function writePrintenvTool(dir: string): void {
  writeFileSync(
    join(dir, 'tools', 'printenv.yaml'),
    `apiVersion: countersign/v1
kind: Tool
name: printenv
version: 1.0.0
executable: { path: /usr/bin/printenv, sha256: ${sha('/usr/bin/printenv')} }
sandbox:
  secrets: [{ name: API_TOKEN, from: "env:DEPLOY_TOKEN" }]
actions:
  token:
    argv: ["API_TOKEN"]
    risk: low
  all:
    risk: low
`,
  );
}

function childrenOf(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  if (existsSync(file)) {
    return readFileSync(file, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  }
  // Kernels without CONFIG_PROC_CHILDREN: scan parents.
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');

function environ(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return new Map(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

for (const engine of ENGINES) {
  describe(`countersign serve on ${engine.name}: the API process holds no tool credentials`, { skip: engine.skip }, () => {
    let dir: string;
    let init: InitResult;
    let db: Awaited<ReturnType<typeof engine.fresh>>;
    let serve: ChildProcess;
    let exited: Promise<number | string>;
    let output = '';
    let url: string;
    let apiPid: number;
    let executorPid: number;

    const request = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${init.adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, text, body: JSON.parse(text) };
    };

    before(async () => {
      db = await engine.fresh();
      dir = join(tempDir(), 'data');
      init = await initDataDir(dir, { databaseUrl: db.databaseUrl });
      writePrintenvTool(dir);
      signTestTools(dir);
      const args = [...CLI_ARGS, 'serve', '--dir', dir, '--port', '0', '--json'];
      if (db.databaseUrl) args.push('--database-url', db.databaseUrl);
      serve = spawn(process.execPath, args, {
        env: { ...process.env, DEPLOY_TOKEN: TOOL_SECRET, COUNTERSIGN_SECRET_X: CONVENTION_SECRET },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      exited = new Promise((resolve) => serve.on('exit', (code, signal) => resolve(signal ?? code ?? -1)));
      serve.stdout!.on('data', (d) => (output += d));
      serve.stderr!.on('data', (d) => (output += d));
      const deadline = Date.now() + 60_000;
      // The API child prints its banner as a (pretty-printed) JSON object once it listens.
      while (!url && Date.now() < deadline) {
        const banner = /^\{\n[\s\S]*?\n\}$/m.exec(output);
        if (banner) url = JSON.parse(banner[0]).url;
        else await sleep(50);
        assert.equal(serve.exitCode, null, `serve exited early:\n${output}`);
      }
      assert.ok(url, `serve did not come up:\n${output}`);
      // Both children must be up: the executor logs once it has started.
      while (!/executor \S+ started/.test(output) && Date.now() < deadline) await sleep(50);
      const kids = childrenOf(serve.pid!);
      const api = kids.filter((p) => cmdline(p).includes(' api '));
      const exe = kids.filter((p) => cmdline(p).includes(' executor '));
      assert.equal(api.length, 1, `children: ${kids.map((k) => cmdline(k)).join(' | ')}`);
      assert.equal(exe.length, 1, `children: ${kids.map((k) => cmdline(k)).join(' | ')}`);
      apiPid = api[0]!;
      executorPid = exe[0]!;
    });

    after(async () => {
      // On a failure path: serve's children would outlive a killed serve, so end them by pid.
      const alive = serve && serve.exitCode === null && serve.signalCode === null;
      for (const pid of new Set([apiPid, executorPid, ...(alive ? childrenOf(serve.pid!) : [])])) {
        if (pid && existsSync(`/proc/${pid}/cmdline`) && cmdline(pid).includes(dir)) process.kill(pid, 'SIGKILL');
      }
      if (serve && serve.exitCode === null && serve.signalCode === null) {
        serve.kill('SIGKILL');
        await exited;
      }
      serve?.stdout?.destroy();
      serve?.stderr?.destroy();
      await db?.drop();
      if (dir) removeWorkRoot(dir);
      if (dir) rmSync(join(dir, '..'), { recursive: true, force: true });
    });

    test("the API child's environment lacks the tool credentials; the executor child's has them", () => {
      const apiEnv = environ(apiPid);
      assert.equal(apiEnv.has('DEPLOY_TOKEN'), false, 'a manifest-named env: secret reached the API');
      assert.equal(apiEnv.has('COUNTERSIGN_SECRET_X'), false, 'a COUNTERSIGN_SECRET_* variable reached the API');
      for (const [k, v] of apiEnv) {
        assert.ok(!v.includes(TOOL_SECRET) && !v.includes(CONVENTION_SECRET), `${k} carries a secret value`);
      }
      // Control: the environment we read is really that process's (PATH came through unchanged).
      assert.equal(apiEnv.get('PATH'), process.env.PATH);
      const exeEnv = environ(executorPid);
      assert.equal(exeEnv.get('DEPLOY_TOKEN'), TOOL_SECRET);
      assert.equal(exeEnv.get('COUNTERSIGN_SECRET_X'), CONVENTION_SECRET);
    });

    test('a step receives its declared secret, its output is redacted, and the value is stored nowhere', async () => {
      const plan = await request('POST', '/v1/plans', {
        intent: 'print the token',
        environment: 'dev',
        steps: [
          { tool: 'printenv', action: 'token', input: {} },
          { tool: 'printenv', action: 'all', input: {} },
        ],
      });
      assert.equal(plan.status, 201, plan.text);
      assert.equal(plan.body.status, 'approved', plan.text);
      const exec = await request('POST', `/v1/plans/${plan.body.id}/executions`, {});
      assert.equal(exec.status, 201, exec.text);
      let view: any;
      for (let i = 0; i < 600; i++) {
        view = (await request('GET', `/v1/executions/${exec.body.id}`)).body;
        if (['succeeded', 'failed', 'rolled_back', 'needs_attention'].includes(view.status)) break;
        await sleep(100);
      }
      assert.equal(view.status, 'succeeded', JSON.stringify(view));
      // printenv exits 0 only when the variable is set: the executor injected it into the sandbox.
      assert.equal(view.steps[0].exitCode, 0);
      assert.equal(view.steps[0].stdout.trim(), '[REDACTED]');
      const all = view.steps[1].stdout as string;
      assert.match(all, /^API_TOKEN=\[REDACTED\]$/m);
      // --clearenv: nothing else of the executor's environment reaches the step.
      assert.doesNotMatch(all, /DEPLOY_TOKEN|COUNTERSIGN_SECRET_X/);

      const views = [
        (await request('GET', `/v1/executions/${exec.body.id}`)).text,
        (await request('GET', `/v1/executions/${exec.body.id}/events`)).text,
        (await request('GET', '/v1/audit?limit=1000')).text,
      ];
      for (const text of views) {
        assert.ok(!text.includes(TOOL_SECRET), 'the tool secret came back through the API');
        assert.ok(!text.includes(CONVENTION_SECRET));
      }
      const events = JSON.parse(views[1]!).events;
      assert.ok(
        events.some((e: any) => e.type === 'output' && e.data.chunk.includes('[REDACTED]')),
        'the live output was redacted too',
      );
      const target = { dir, databaseUrl: db.databaseUrl };
      const tables = ['audit_log', 'execution_events', 'execution_steps', 'executions', 'plans'];
      for (const table of tables) {
        const rows = JSON.stringify(await rawSql(target, `select * from ${table}`));
        assert.ok(!rows.includes(TOOL_SECRET), `${table} stores the secret`);
        assert.ok(!rows.includes(CONVENTION_SECRET), `${table} stores the other secret`);
      }
      assert.doesNotMatch(output, new RegExp(`${TOOL_SECRET}|${CONVENTION_SECRET}`), 'the processes logged a secret');
    });

    test('SIGTERM drains both processes and serve exits 0', async () => {
      serve.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(60_000).then(() => 'timeout')]);
      assert.equal(code, 0, output);
      for (const pid of [apiPid, executorPid]) assert.equal(existsSync(`/proc/${pid}/cmdline`) && cmdline(pid).includes(CLI_PATH), false);
    });
  });
}
