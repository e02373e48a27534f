// Issue 12 (#9): the CLI behaves like a Unix tool — a closed pipe ends it quietly, colour only
// where it is wanted, human output by default and JSON on request.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CLI_ARGS, runCli } from './support/cli.ts';
import { tempDir } from './support/server.ts';

/** Runs `countersign ARGS 2>ERRFILE | READER` in bash; returns the CLI's own exit status and what the reader printed. */
function pipeInto(args: string[], reader: string, errFile: string): Promise<{ cliStatus: number; readerOut: string }> {
  const cli = [process.execPath, ...CLI_ARGS, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('bash', ['-c', `${cli} 2>'${errFile}' | ${reader}; echo "status=\${PIPESTATUS[0]}"`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => {
      const m = /status=(\d+)\n$/.exec(out);
      if (!m) return reject(new Error(`no status in ${JSON.stringify(out)}`));
      resolve({ cliStatus: Number(m[1]), readerOut: out.slice(0, m.index) });
    });
  });
}

describe('a closed pipe', () => {
  const root = tempDir('cs-pipe-');
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a reader that closes before the first write: quiet exit 141, no stack trace', async () => {
    const errFile = join(root, 'help.err');
    // `true` exits at once, so every write the CLI makes meets a closed pipe (EPIPE).
    const r = await pipeInto(['--help'], 'true', errFile);
    assert.equal(r.cliStatus, 141);
    assert.equal(readFileSync(errFile, 'utf8'), '');
  });

  test('`| head -n 2` gets its lines and the CLI ends quietly, whatever its output size', async () => {
    // A long policy-test report: one result line per request, far beyond a pipe buffer.
    const tests = Array.from(
      { length: 1500 },
      (_, i) =>
        `  - name: agent cannot approve ${i}\n    principal: { id: bot, tenant: default, kind: agent, groups: [agent] }\n    action: plan.approve\n    resource: { type: Plan, id: p${i}, tenant: default, environment: prod, risk: high, proposer: alice }\n    expect: deny\n`,
    ).join('');
    const file = join(root, 'tests.yaml');
    writeFileSync(file, `tests:\n${tests}`);
    const dir = join(root, 'data');
    const init = await runCli(['init', '--dir', dir]);
    assert.equal(init.code, 0, init.stderr);
    const errFile = join(root, 'head.err');
    const r = await pipeInto(['policy', 'test', file, '--dir', dir], 'head -n 2', errFile);
    assert.equal(r.readerOut.split('\n').length, 3, r.readerOut);
    assert.match(r.readerOut, /^RESULT/);
    assert.equal(readFileSync(errFile, 'utf8'), '');
    assert.ok([0, 141].includes(r.cliStatus), `status ${r.cliStatus}`);
  });
});

const ESC = '\u001b';

describe('colour and output format', () => {
  const unreachable = { COUNTERSIGN_SERVER: 'http://127.0.0.1:9', COUNTERSIGN_TOKEN: 'x', NO_COLOR: undefined, FORCE_COLOR: undefined };

  test('no colour into a pipe', async () => {
    const r = await runCli(['status'], { env: unreachable });
    assert.equal(r.code, 9);
    assert.match(r.stderr, /^error: /);
    assert.ok(!r.stderr.includes(ESC), r.stderr);
  });

  test('FORCE_COLOR paints the error and hint; NO_COLOR alone does not', async () => {
    const forced = await runCli(['status'], { env: { ...unreachable, FORCE_COLOR: '1' } });
    assert.ok(forced.stderr.includes(`${ESC}[31merror:${ESC}[0m `), forced.stderr);
    assert.ok(forced.stderr.includes(`${ESC}[33mhint:${ESC}[0m `), forced.stderr);
    const off = await runCli(['status'], { env: { ...unreachable, NO_COLOR: '1' } });
    assert.ok(!off.stderr.includes(ESC), off.stderr);
  });

  test('sandbox check prints lines for people, and JSON only with --json', async () => {
    const human = await runCli(['sandbox', 'check']);
    assert.ok(human.code === 0 || human.code === 1, human.stderr);
    assert.doesNotMatch(human.stdout, /^\s*[{[]/);
    assert.match(human.stdout, /^(ok {2}|FAIL) {2}bubblewrap +\S/m);
    assert.match(human.stdout, /^cgroup limits: /m);
    assert.match(human.stdout, human.code === 0 ? /^OK: steps can run sandboxed/m : /^NOT READY: /m);
    const json = await runCli(['sandbox', 'check', '--json']);
    assert.equal(json.code, human.code);
    const report = JSON.parse(json.stdout) as { ok: boolean; items: { name: string }[] };
    assert.equal(report.ok, json.code === 0);
    assert.ok(report.items.some((i) => i.name === 'bubblewrap'));
  });
});
