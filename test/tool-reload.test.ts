// Tools reload on SIGHUP (invariant 13, invariant 11): a real `countersign serve` (API and
// executor as two processes) re-reads <dir>/tools when sent SIGHUP, verifies every manifest
// against the trust store and swaps the whole set in both processes; a set with any manifest
// that is badly signed, signed by an untrusted key or invalid is refused whole, the old set
// stays, and every attempt is audited as tool.reload before anything changes.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type InitResult, initDataDir } from '../src/server/init.ts';
import { generatePublisherKeyPair } from '../src/tools/index.ts';
import { CLI_ARGS } from './support/cli.ts';
import { ENGINES } from './support/engines.ts';
import { removeWorkRoot } from './support/execution.ts';
import { rawSql } from './support/raw-db.ts';
import { tempDir } from './support/server.ts';
import { signManifestFile } from './support/tools.ts';

const sha = (path: string) =>
  createHash('sha256')
    .update(readFileSync(realpathSync(path)))
    .digest('hex');

const manifest = (name: string, description: string) => `apiVersion: countersign/v1
kind: Tool
name: ${name}
version: "1.0.0"
description: ${description}
executable: { path: /usr/bin/basename, sha256: ${sha('/usr/bin/basename')} }
actions:
  of:
    argv: ["{{path}}"]
    input: { properties: { path: { type: string, maxLength: 200 } }, required: [path] }
    risk: low
    idempotent: true
`;

for (const engine of ENGINES) {
  describe(`SIGHUP reloads the tools of a running serve (${engine.name})`, { skip: engine.skip }, () => {
    let dir: string;
    let init: InitResult;
    let db: Awaited<ReturnType<typeof engine.fresh>>;
    let serve: ChildProcess;
    let exited: Promise<number | string>;
    let output = '';
    let url = '';
    const tool = (name: string) => join(dir, 'tools', `${name}.yaml`);

    const request = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${init.adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, text, body: JSON.parse(text) };
    };

    const toolDigests = async (): Promise<Map<string, string>> => {
      const r = await request('GET', '/v1/tools');
      assert.equal(r.status, 200, r.text);
      return new Map((r.body.tools as { name: string; digest: string }[]).map((t) => [t.name, t.digest]));
    };

    /** Sends SIGHUP to serve and waits until the API and the executor have each logged the outcome. */
    // SIGHUP reloads policies and tools; each reports on its own line, in no fixed order, so wait for all three.
    const hup = async (): Promise<string> => {
      const mark = output.length;
      process.kill(serve.pid!, 'SIGHUP');
      const done = (p: string) => new RegExp(`(tools reloaded|tool reload REFUSED) \\(${p}\\)`).test(output.slice(mark));
      const policies = () => /policies reloaded|policy reload REFUSED/.test(output.slice(mark));
      const all = () => done('api') && done('executor') && policies();
      const deadline = Date.now() + 60_000;
      while (!all() && Date.now() < deadline) await sleep(50);
      assert.ok(all(), `no reload outcome from policies and both processes' tools:\n${output.slice(mark)}`);
      return output.slice(mark);
    };

    /** The outcome of each reload (the decision, `allowed`, precedes each swap and is left out). */
    const reloadAudit = async (): Promise<{ outcome: string; details: any }[]> => {
      const rows = await rawSql(
        { dir, databaseUrl: db.databaseUrl },
        "select outcome, details from audit_log where action = 'tool.reload' and outcome <> 'allowed' order by seq",
      );
      return rows.map((r) => ({ outcome: r.outcome, details: typeof r.details === 'string' ? JSON.parse(r.details) : r.details }));
    };

    const runBasename = async (toolName: string, path: string) => {
      const plan = await request('POST', '/v1/plans', {
        intent: 'name of a path',
        environment: 'dev',
        steps: [{ tool: toolName, action: 'of', input: { path } }],
      });
      if (plan.status !== 201) return { plan };
      assert.equal(plan.body.status, 'approved', plan.text);
      const exec = await request('POST', `/v1/plans/${plan.body.id}/executions`, {});
      assert.equal(exec.status, 201, exec.text);
      let view: any;
      for (let i = 0; i < 600; i++) {
        view = (await request('GET', `/v1/executions/${exec.body.id}`)).body;
        if (['succeeded', 'failed', 'rolled_back', 'needs_attention'].includes(view.status)) break;
        await sleep(100);
      }
      return { plan, view };
    };

    before(async () => {
      db = await engine.fresh();
      dir = join(tempDir('cs-tool-reload-'), 'data');
      init = await initDataDir(dir, { databaseUrl: db.databaseUrl });
      const args = [...CLI_ARGS, 'serve', '--dir', dir, '--port', '0', '--json'];
      if (db.databaseUrl) args.push('--database-url', db.databaseUrl);
      serve = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      exited = new Promise((resolve) => serve.on('exit', (code, signal) => resolve(signal ?? code ?? -1)));
      serve.stdout!.on('data', (d) => (output += d));
      serve.stderr!.on('data', (d) => (output += d));
      const deadline = Date.now() + 60_000;
      while (!url && Date.now() < deadline) {
        const banner = /^\{\n[\s\S]*?\n\}$/m.exec(output);
        if (banner) url = JSON.parse(banner[0]).url;
        else await sleep(50);
        assert.equal(serve.exitCode, null, `serve exited early:\n${output}`);
      }
      assert.ok(url, `serve did not come up:\n${output}`);
      while (!/executor \S+ started/.test(output) && Date.now() < deadline) await sleep(50);
      assert.match(output, /executor \S+ started/);
    });

    after(async () => {
      if (serve && serve.exitCode === null && serve.signalCode === null) {
        serve.kill('SIGTERM');
        const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout')]);
        if (code === 'timeout') serve.kill('SIGKILL');
      }
      serve?.stdout?.destroy();
      serve?.stderr?.destroy();
      await db?.drop();
      if (dir) removeWorkRoot(dir);
      if (dir) rmSync(join(dir, '..'), { recursive: true, force: true });
    });

    test('a newly signed tool is proposable and runs after SIGHUP, without a restart', async () => {
      writeFileSync(tool('basename'), manifest('basename', 'Print the last part of a path.'));
      signManifestFile(dir, tool('basename'));
      // Control: written and signed on disk is not loaded until the signal.
      assert.equal((await toolDigests()).has('basename'), false);
      const early = await runBasename('basename', '/a/b/c');
      assert.equal(early.plan.status, 400, early.plan.text);
      assert.equal(early.plan.body.error.code, 'UNKNOWN_TOOL');

      const log = await hup();
      assert.match(log, /tools reloaded \(api\): 3 tool\(s\): basename, echo, shell; added basename/);
      assert.match(log, /tools reloaded \(executor\): 3 tool\(s\)/);
      assert.equal((await toolDigests()).has('basename'), true);
      // The executor has it too: otherwise the step fails with "not loaded by this executor".
      const run = await runBasename('basename', '/a/b/c');
      assert.equal(run.view.status, 'succeeded', JSON.stringify(run.view));
      assert.equal(run.view.steps[0].stdout.trim(), 'c');

      const audit = await reloadAudit();
      assert.equal(audit.length, 2, JSON.stringify(audit));
      assert.deepEqual(audit.map((a) => a.details.process).sort(), ['api', 'executor']);
      for (const a of audit) {
        assert.equal(a.outcome, 'succeeded');
        assert.deepEqual(a.details.added, ['basename']);
      }
    });

    test('a manifest edited after signing makes the whole new set refused; the old set stays in both processes', async () => {
      const before = await toolDigests();
      // A good new tool beside the tampered one: it must not go live either (all or nothing).
      writeFileSync(
        tool('dirname'),
        manifest('dirname', 'A second, properly signed tool.')
          .replaceAll('/usr/bin/basename', '/usr/bin/dirname')
          .replace(sha('/usr/bin/basename'), sha('/usr/bin/dirname')),
      );
      signManifestFile(dir, tool('dirname'));
      writeFileSync(tool('basename'), manifest('basename', 'Edited after it was signed.'));

      const log = await hup();
      assert.match(
        log,
        /tool reload REFUSED \(api\), previous tool set kept: .*basename\.yaml: the signature by trusted key [0-9a-f]{16} does not verify/,
      );
      assert.match(log, /tool reload REFUSED \(executor\), previous tool set kept/);
      assert.deepEqual(await toolDigests(), before, 'the API kept exactly its old set');
      // The executor kept the old, signed basename: a plan against it still runs.
      const run = await runBasename('basename', '/x/y');
      assert.equal(run.view.status, 'succeeded', JSON.stringify(run.view));
      assert.equal(run.view.steps[0].stdout.trim(), 'y');

      const refused = (await reloadAudit()).slice(2);
      assert.equal(refused.length, 2, JSON.stringify(refused));
      for (const a of refused) {
        assert.equal(a.outcome, 'denied');
        assert.match(a.details.reasons.join('\n'), /basename\.yaml: the signature by trusted key .* does not verify/);
      }
    });

    test('a manifest signed only by a key outside the trust store is refused, whole set, old set kept', async () => {
      signManifestFile(dir, tool('basename')); // repair the tampered one
      const outsider = generatePublisherKeyPair();
      const keyDir = join(dir, '..', 'outsider');
      mkdirSync(keyDir, { mode: 0o700 });
      const keyFile = join(keyDir, 'outsider.key');
      writeFileSync(keyFile, outsider.privateKeyPem, { mode: 0o600 });
      writeFileSync(tool('rogue'), manifest('rogue', 'Signed by nobody we trust.'));
      signManifestFile(dir, tool('rogue'), keyFile);
      const before = await toolDigests();

      const log = await hup();
      assert.match(
        log,
        new RegExp(`tool reload REFUSED \\(api\\).*rogue\\.yaml: needs 1 valid signature\\(s\\).*untrusted keys ${outsider.keyId}`),
      );
      assert.deepEqual(await toolDigests(), before);
      const rogue = await runBasename('rogue', '/r');
      assert.equal(rogue.plan.status, 400, rogue.plan.text);
      const last = (await reloadAudit()).slice(-2);
      assert.deepEqual(
        last.map((a) => a.outcome),
        ['denied', 'denied'],
      );
    });

    test('an invalid manifest is refused as failed with a message that says what to fix; fixing the set loads it', async () => {
      rmSync(tool('rogue'));
      rmSync(`${tool('rogue')}.sig`);
      writeFileSync(tool('broken'), manifest('broken', 'No digest.').replace(/sha256: [0-9a-f]{64}/, 'sha256: TODO'));
      signManifestFile(dir, tool('broken'));
      const log = await hup();
      assert.match(
        log,
        /tool reload REFUSED \(api\).*broken\.yaml: executable\.sha256: "TODO" is not a SHA-256.*sha256sum \/usr\/bin\/basename/,
      );
      const failed = (await reloadAudit()).slice(-2);
      assert.deepEqual(
        failed.map((a) => a.outcome),
        ['failed', 'failed'],
      );

      rmSync(tool('broken'));
      rmSync(`${tool('broken')}.sig`);
      const fixed = await hup();
      assert.match(
        fixed,
        /tools reloaded \(api\): 4 tool\(s\): basename, dirname, echo, shell; added dirname; removed -; changed basename/,
      );
      assert.match(fixed, /tools reloaded \(executor\)/);
      const run = await runBasename('dirname', '/p/q/r');
      assert.equal(run.view.status, 'succeeded', JSON.stringify(run.view));
      assert.equal(run.view.steps[0].stdout.trim(), '/p/q');
      assert.equal(serve.exitCode, null, 'serve is still running after all the reloads');
    });

    test('a policy file with a syntax error at SIGHUP is refused; the previous policies keep deciding (issue 11)', async () => {
      writeFileSync(join(dir, 'policies', 'oops.cedar'), 'permit (principal, action\n');
      const log = await hup();
      assert.match(log, /policy reload REFUSED, previous policy set kept: oops\.cedar: /);
      // The API still authorizes with the old set: the admin may still read, an anonymous caller may not.
      assert.equal((await request('GET', '/v1/tools')).status, 200);
      const anonymous = await fetch(`${url}/v1/tools`);
      assert.equal(anonymous.status, 401);
      const rows = await rawSql(
        { dir, databaseUrl: db.databaseUrl },
        "select outcome from audit_log where action = 'policy.reload' order by seq",
      );
      assert.equal(rows.at(-1)?.outcome, 'denied', 'a refused set is a refusal, audited denied with its code');
      rmSync(join(dir, 'policies', 'oops.cedar'));
      assert.equal(serve.exitCode, null);
    });
  });
}
