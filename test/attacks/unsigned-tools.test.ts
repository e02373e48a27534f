// Invariant 13: signed tools only. A manifest needs K valid signatures from trusted publisher
// keys; an edited, unsigned or foreign-signed manifest is refused at load by the server and the
// executor, cannot be proposed, and trust removed at run time stops the next step. No flag, API
// field or MCP argument skips verification; only the config's developmentMode lets an unsigned
// manifest load, marked and audited.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Command } from 'commander';
import { z } from 'zod';
import { buildProgram } from '../../src/cli/main.ts';
import { ConfigSchema } from '../../src/config/index.ts';
import { type RunningExecutor, startExecutor } from '../../src/executor/executor.ts';
import { systemRuntime } from '../../src/runtime.ts';
import { provisionTenant } from '../../src/server/tenants.ts';
import { generatePublisherKeyPair } from '../../src/tools/index.ts';
import { runCli } from '../support/cli.ts';
import { ENGINES } from '../support/engines.ts';
import { configureExecutor } from '../support/execution.ts';
import { addPrincipal } from '../support/principals.ts';
import { rawSql } from '../support/raw-db.ts';
import { startTestServer, type TestServer, tempDir } from '../support/server.ts';
import { signManifestFile, writeTestTools } from '../support/tools.ts';

const BYPASS = /unsigned|skip|no-?verif|insecure|trust-?all|allow-?untrusted|unverified/i;

const sleepPlan = (environment = 'dev', seconds = 0) => ({
  intent: 'wait',
  environment,
  steps: [{ tool: 'sleep', action: 'wait', input: { seconds } }],
});

/** A publisher key that is not in the trust store, written to a scratch directory. */
function foreignKey(): { keyFile: string; publicKeyPem: string; keyId: string } {
  const pair = generatePublisherKeyPair();
  const dir = tempDir('cs-publisher-');
  const keyFile = join(dir, `publisher-${pair.keyId}.key`);
  writeFileSync(keyFile, pair.privateKeyPem, { mode: 0o600 });
  return { keyFile, publicKeyPem: pair.publicKeyPem, keyId: pair.keyId };
}

function setConfig(dir: string, edit: (text: string) => string): void {
  const file = join(dir, 'countersign.yaml');
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
}

for (const engine of ENGINES) {
  describe(`signed tools only on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    const warnings: string[] = [];
    let foreign: ReturnType<typeof foreignKey>;

    before(async () => {
      foreign = foreignKey();
      s = await startTestServer(engine, {
        warn: (l) => warnings.push(l),
        configure: (dir) => {
          writeTestTools(dir);
          const tools = join(dir, 'tools');
          // One byte edited after signing: the maximum 30 becomes 90 (same length).
          const sleep = join(tools, 'sleep.yaml');
          const text = readFileSync(sleep, 'utf8');
          writeFileSync(sleep, text.replace('maximum: 30', 'maximum: 90'));
          assert.equal(readFileSync(sleep, 'utf8').length, text.length);
          // No signature at all, under another extension.
          writeFileSync(join(tools, 'plain.yml'), readFileSync(join(tools, 'echo.yaml'), 'utf8').replace('name: echo', 'name: plain'));
          // Signed, but only by a key nobody trusts.
          const foreignFile = join(tools, 'foreign.yaml');
          writeFileSync(foreignFile, readFileSync(join(tools, 'echo.yaml'), 'utf8').replace('name: echo', 'name: foreign'));
          signManifestFile(dir, foreignFile, foreign.keyFile);
          // A trusted signature copied from another manifest.
          const copied = join(tools, 'copied.yaml');
          writeFileSync(copied, readFileSync(join(tools, 'echo.yaml'), 'utf8').replace('name: echo', 'name: copied'));
          writeFileSync(`${copied}.sig`, readFileSync(join(tools, 'echo.yaml.sig')));
          configureExecutor(dir, { pollMilliseconds: 50 });
        },
      });
    });
    after(async () => s?.close());

    test('a manifest edited by one byte after signing is refused at load', () => {
      assert.equal(s.ctx.tools.get('sleep'), undefined);
      const refused = s.ctx.tools.refusalFor('sleep');
      assert.ok(refused, 'sleep must be listed as refused');
      assert.match(refused.reason, /does not verify: the manifest changed after it was signed/);
      assert.ok(warnings.some((w) => w.startsWith('REFUSED tool manifest') && w.includes('sleep.yaml')));
    });

    test('unsigned, foreign-signed and copied-signature manifests are refused whatever their file name', () => {
      for (const name of ['plain', 'foreign', 'copied']) {
        assert.equal(s.ctx.tools.get(name), undefined, name);
        assert.ok(s.ctx.tools.refusalFor(name), `${name} must be refused`);
      }
      assert.match(s.ctx.tools.refusalFor('plain')!.reason, /needs 1 valid signature\(s\) from trusted publisher keys, has 0/);
      assert.match(s.ctx.tools.refusalFor('foreign')!.reason, new RegExp(`untrusted keys ${foreign.keyId}`));
      assert.match(s.ctx.tools.refusalFor('copied')!.reason, /does not verify/);
      assert.deepEqual(
        s.ctx.tools.list().map((t) => t.manifest.name),
        ['echo', 'fail', 'shell'],
      );
    });

    test('every refusal at load is audited', async () => {
      const rows = await rawSql(s, "select resource, details from audit_log where action = 'system.start' and outcome = 'denied'");
      const resources = rows.map((r) => r.resource).sort();
      assert.deepEqual(resources, ['tool:copied', 'tool:foreign', 'tool:plain', 'tool:sleep']);
    });

    test('a plan for the edited tool cannot be proposed, and nothing is stored', async () => {
      const before = await rawSql(s, 'select id from plans');
      const res = await s.request('POST', '/v1/plans', { body: sleepPlan() });
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'TOOL_UNTRUSTED');
      assert.match(res.body.error.message, /sleep.*refused at load/);
      const rollback = await s.request('POST', '/v1/plans', {
        body: { ...sleepPlan(), steps: [{ tool: 'echo', action: 'say', input: { message: 'hi' } }], rollback: sleepPlan().steps },
      });
      assert.equal(rollback.status, 403, 'a refused tool in rollback steps is refused too');
      assert.deepEqual(await rawSql(s, 'select id from plans'), before);
      const audited = await rawSql(s, "select details from audit_log where action = 'plan.propose' and outcome = 'denied'");
      assert.ok(audited.some((r) => String(r.details).includes('TOOL_UNTRUSTED')));
    });

    test('the executor verifies on its own and refuses the same manifests at its start', async () => {
      const exe: RunningExecutor = await startExecutor(s.dir, { store: s.ctx.store, log: () => {} });
      await exe.stop();
      const rows = await rawSql(s, "select resource, details from audit_log where action = 'system.start' and outcome = 'denied'");
      const byExecutor = rows.filter((r) => JSON.parse(r.details).process === 'executor').map((r) => r.resource);
      assert.deepEqual(byExecutor.sort(), ['tool:copied', 'tool:foreign', 'tool:plain', 'tool:sleep']);
    });
  });

  describe(`K of N per environment, and trust changes at run time, on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    let second: ReturnType<typeof foreignKey>;
    let executor: RunningExecutor | null = null;

    before(async () => {
      second = foreignKey();
      s = await startTestServer(engine, {
        warn: () => {},
        configure: (dir) => {
          writeTestTools(dir);
          // echo carries the init key's signature and a second publisher's (not trusted yet).
          signManifestFile(dir, join(dir, 'tools', 'echo.yaml'), second.keyFile);
          setConfig(dir, (t) => t.replace('  environments: {}', '  environments: { prod: 2 }'));
          configureExecutor(dir, { pollMilliseconds: 50 });
        },
      });
    });
    after(async () => {
      await executor?.stop();
      await s?.close();
    });

    const echoIn = (environment: string) => ({
      intent: 'hello',
      environment,
      steps: [{ tool: 'echo', action: 'say', input: { message: 'hi' } }],
    });

    test('one signature is enough in dev; prod requires two, so a prod plan is refused', async () => {
      assert.equal((await s.request('POST', '/v1/plans', { body: echoIn('dev') })).status, 201);
      const prod = await s.request('POST', '/v1/plans', { body: echoIn('prod') });
      assert.equal(prod.status, 403);
      assert.equal(prod.body.error.code, 'TOOL_UNTRUSTED');
      assert.match(prod.body.error.message, /1 valid signature\(s\).*prod requires 2/);
    });

    test('trusting the second publisher through the chokepoint lets prod plans in at once; removing it refuses them again', async () => {
      const add = await s.request('POST', '/v1/trust', { body: { publicKey: second.publicKeyPem, name: 'second publisher' } });
      assert.equal(add.status, 201, JSON.stringify(add.body));
      assert.equal(add.body.keyId, second.keyId);
      assert.equal((await s.request('POST', '/v1/plans', { body: echoIn('prod') })).status, 201);
      const list = await s.request('GET', '/v1/trust');
      assert.deepEqual(list.body.keys.map((k: { keyId: string }) => k.keyId).sort(), [s.init.publisherKeyId, second.keyId].sort());
      assert.deepEqual(list.body.policy, { required: 1, environments: { prod: 2 } });
      const removed = await s.request('DELETE', `/v1/trust/${second.keyId}`, { body: { reason: 'rotated' } });
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
      assert.equal((await s.request('POST', '/v1/plans', { body: echoIn('prod') })).status, 403);
      const audit = await rawSql(
        s,
        "select outcome, details from audit_log where action in ('trust.change', 'trust.bootstrap') order by seq",
      );
      const ops = audit.filter((r) => r.outcome === 'allowed').map((r) => JSON.parse(r.details).op);
      assert.deepEqual(ops, ['add', 'add', 'remove'], 'init, the API add and the API remove are each audited');
    });

    test('the trust store changes only through policy and only from the admin tenant', async () => {
      const operator = await addPrincipal(s, 'op', 'human', ['operator']);
      const denied = await s.request('POST', '/v1/trust', { key: operator.key, body: { publicKey: second.publicKeyPem } });
      assert.equal(denied.status, 403);
      assert.equal(denied.body.error.code, 'POLICY_DENIED');
      assert.equal((await s.request('GET', '/v1/trust', { key: operator.key })).status, 403);
      const other = await provisionTenant(s.ctx.store, systemRuntime, 'other-tenant');
      const foreignAdmin = await s.request('POST', '/v1/trust', { key: other.adminKey, body: { publicKey: second.publicKeyPem } });
      assert.equal(foreignAdmin.status, 403, JSON.stringify(foreignAdmin.body));
      assert.match(foreignAdmin.body.error.message, /installation-wide/);
      const privateKey = await s.request('POST', '/v1/trust', { body: { publicKey: readFileSync(second.keyFile, 'utf8') } });
      assert.equal(privateKey.status, 400);
      const again = await s.request('POST', '/v1/trust', {
        body: { publicKey: readFileSync(join(s.dir, 'keys', `publisher-${s.init.publisherKeyId}.pub`), 'utf8') },
      });
      assert.equal(again.status, 409);
      const rows = await rawSql(s, "select outcome from audit_log where action = 'trust.change' and outcome in ('denied', 'failed')");
      assert.ok(rows.length >= 4, 'each refused trust change is audited');
    });

    test('the executor refuses the next step once its tool no longer verifies under the current trust store', async () => {
      const plan = await s.request('POST', '/v1/plans', {
        body: {
          intent: 'wait, then speak',
          environment: 'dev',
          steps: [
            { tool: 'sleep', action: 'wait', input: { seconds: 2 } },
            { tool: 'echo', action: 'say', input: { message: 'must not run' } },
          ],
        },
      });
      assert.equal(plan.status, 201, JSON.stringify(plan.body));
      assert.equal(plan.body.status, 'approved');
      const exec = await s.request('POST', `/v1/plans/${plan.body.id}/executions`, { body: {} });
      assert.equal(exec.status, 201);
      executor = await startExecutor(s.dir, { store: s.ctx.store, log: () => {} });
      for (let i = 0; i < 200; i++) {
        const ev = await s.request('GET', `/v1/executions/${exec.body.id}/events`);
        if (ev.body.events.some((e: { type: string }) => e.type === 'step.started')) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      // The only trusted signer of echo and sleep goes, while the first step runs.
      const removed = await s.request('DELETE', `/v1/trust/${s.init.publisherKeyId}`, { body: { reason: 'compromised' } });
      assert.equal(removed.status, 200);
      let view: any;
      for (let i = 0; i < 300; i++) {
        view = (await s.request('GET', `/v1/executions/${exec.body.id}`)).body;
        if (['succeeded', 'failed', 'rolled_back', 'needs_attention'].includes(view.status)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(view.status, 'failed', JSON.stringify(view));
      assert.match(view.reason, /echo.*0 valid signature/);
      assert.equal(view.steps[0].status, 'succeeded');
      assert.equal(view.steps[1].status, 'failed', 'the second step never ran');
      assert.match(view.steps[1].error, /refused before it ran/);
      assert.equal(view.steps[1].exitCode, null, 'it was refused, not run');
      const denied = await rawSql(s, "select details from audit_log where action = 'execution.step' and outcome = 'denied'");
      assert.ok(denied.some((r) => /0 valid signature/.test(String(r.details))));
    });
  });

  describe(`developmentMode and unsigned manifests on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    const warnings: string[] = [];

    before(async () => {
      s = await startTestServer(engine, {
        warn: (l) => warnings.push(l),
        configure: (dir) => {
          writeTestTools(dir);
          rmSync(join(dir, 'tools', 'sleep.yaml.sig'));
          // Tampered, not unsigned: refused even in development mode.
          const fail = join(dir, 'tools', 'fail.yaml');
          writeFileSync(
            fail,
            readFileSync(fail, 'utf8').replace('now: { risk: low, idempotent: false }', 'now: { risk: low, idempotent: true }'),
          );
          setConfig(dir, (t) => t.replace('developmentMode: false', 'developmentMode: true'));
        },
      });
    });
    after(async () => s?.close());

    test('it warns at start and audits what loaded unsigned', async () => {
      assert.ok(warnings.some((w) => /developmentMode is ON \(api\)/.test(w)));
      assert.ok(warnings.some((w) => /UNSIGNED tool manifests loaded.*sleep/.test(w)));
      assert.equal(s.ctx.tools.get('sleep')?.unsigned, true);
      const rows = await rawSql(s, "select details from audit_log where resource = 'tools:unsigned'");
      assert.equal(rows.length, 1);
      assert.deepEqual(JSON.parse(rows[0].details).tools, ['sleep']);
    });

    test('a bad signature is refused even in development mode', () => {
      assert.equal(s.ctx.tools.get('fail'), undefined);
      assert.match(s.ctx.tools.refusalFor('fail')!.reason, /changed after it was signed/);
    });

    test('plans with unsigned tools are marked in the plan view and their proposal is audited as such', async () => {
      const res = await s.request('POST', '/v1/plans', { body: sleepPlan() });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.unsignedTools, true);
      assert.equal((await s.request('GET', `/v1/plans/${res.body.id}`)).body.unsignedTools, true);
      const signed = await s.request('POST', '/v1/plans', {
        body: { intent: 'hi', environment: 'dev', steps: [{ tool: 'echo', action: 'say', input: { message: 'x' } }] },
      });
      assert.equal(signed.body.unsignedTools, undefined);
      const [row] = await rawSql(s, "select details from audit_log where action = 'plan.propose' and resource = ?", [
        `plan:${res.body.id}`,
      ]);
      assert.deepEqual(JSON.parse(row.details).unsignedTools, ['sleep']);
    });
  });
}

describe('no flag, field or argument skips verification', () => {
  function allCommands(cmd: Command, prefix = ''): { name: string; cmd: Command }[] {
    const name = `${prefix} ${cmd.name()}`.trim();
    return [{ name, cmd }, ...(cmd.commands as Command[]).flatMap((c) => allCommands(c, name))];
  }

  test('no CLI command offers such an option, in its options or its --help', () => {
    const io = { out: () => {}, err: () => {}, isTty: false };
    const commands = allCommands(buildProgram(io));
    assert.ok(commands.length > 40, `expected the whole command tree, saw ${commands.length}`);
    for (const { name, cmd } of commands) {
      for (const o of cmd.options) assert.doesNotMatch(o.flags, BYPASS, `${name}: option ${o.flags}`);
      const help = cmd.helpInformation();
      for (const flag of help.match(/--?[A-Za-z][\w-]*/g) ?? []) assert.doesNotMatch(flag, BYPASS, `${name} --help shows ${flag}`);
    }
  });

  test('`countersign --help` of every command, as run, shows no such flag', async () => {
    for (const args of [
      ['--help'],
      ['tool', 'verify', '--help'],
      ['tool', 'sign', '--help'],
      ['plan', 'propose', '--help'],
      ['serve', '--help'],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      for (const flag of r.stdout.match(/--?[A-Za-z][\w-]*/g) ?? []) assert.doesNotMatch(flag, BYPASS, `${args.join(' ')}: ${flag}`);
    }
  });

  test('no API body or query field can ask for it', async () => {
    const engine = ENGINES[0]!;
    const s = await startTestServer(engine, { warn: () => {} });
    try {
      const doc = (await s.request('GET', '/docs/json', { key: null })).body as { paths: Record<string, Record<string, any>> };
      const names: string[] = [];
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') {
          for (const [k, child] of Object.entries(v)) {
            // What a caller can send: bodies and parameters. Answers may name the mark itself.
            if (k === 'responses') continue;
            if (k === 'properties' && child && typeof child === 'object') names.push(...Object.keys(child));
            if (k === 'name' && typeof child === 'string') names.push(child);
            walk(child);
          }
        }
      };
      walk(doc.paths);
      assert.ok(Object.keys(doc.paths).length > 20, 'the OpenAPI document lists the routes');
      for (const n of names) assert.doesNotMatch(n, BYPASS, `API field ${n}`);
    } finally {
      await s.close();
    }
  });

  test('no MCP tool input schema can ask for it', async () => {
    const mcp = (await import('../../src/mcp/index.ts')) as { McpToolInputs?: Record<string, z.ZodType> };
    assert.ok(mcp.McpToolInputs, 'src/mcp exports its tool input schemas');
    for (const [tool, schema] of Object.entries(mcp.McpToolInputs)) {
      const text = JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }));
      for (const key of text.match(/"[A-Za-z_][\w-]*"\s*:/g) ?? []) assert.doesNotMatch(key, BYPASS, `MCP ${tool}: ${key}`);
    }
  });

  test('in the config, developmentMode is the one switch', () => {
    const keys: string[] = [];
    const walk = (schema: unknown, path: string): void => {
      const shape = (schema as { shape?: Record<string, unknown> }).shape;
      const inner = (schema as { def?: { innerType?: unknown } }).def?.innerType;
      if (inner) {
        walk(inner, path);
        return;
      }
      if (!shape) return;
      for (const [k, v] of Object.entries(shape)) {
        keys.push(path ? `${path}.${k}` : k);
        walk(v, path ? `${path}.${k}` : k);
      }
    };
    walk(ConfigSchema, '');
    assert.ok(keys.includes('trust.required'));
    assert.deepEqual(
      keys.filter((k) => BYPASS.test(k) || /development|verif/i.test(k)),
      ['developmentMode'],
    );
  });
});
