// `countersign tool new` and `tool hash` through the real CLI: a scaffolded manifest pins the
// program's real digest (checked against coreutils' sha256sum), signs with the exact command the
// CLI prints, verifies against the trust store, and is what doctor loads as production would.
// Programs the executor could never run are refused up front.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ToolManifestSchema } from '../src/tools/index.ts';
import { runCli } from './support/cli.ts';
import { tempDir } from './support/server.ts';

/** The digest coreutils computes: an implementation that is not ours. */
const sha256sum = (path: string) => spawnSync('sha256sum', [path], { encoding: 'utf8' }).stdout.split(' ')[0];

describe('countersign tool new / tool hash', () => {
  const root = tempDir('cs-tool-new-');
  const dir = join(root, 'data');

  before(async () => {
    const init = await runCli(['init', '--dir', dir, '--json']);
    assert.equal(init.code, 0, init.stderr);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('tool hash prints what sha256sum prints, for a path and for a name found on PATH', async () => {
    const [byPath, byName] = await Promise.all([
      runCli(['tool', 'hash', '/usr/bin/basename']),
      runCli(['tool', 'hash', 'basename', '--json']),
    ]);
    assert.equal(byPath.code, 0, byPath.stderr);
    assert.equal(byPath.stdout.trim(), `${sha256sum('/usr/bin/basename')}  /usr/bin/basename`);
    assert.equal(byName.code, 0, byName.stderr);
    assert.equal(JSON.parse(byName.stdout).sha256, sha256sum('/usr/bin/basename'));
  });

  test('scaffolds tools/<name>.yaml, signs with the printed command, verifies, and doctor loads it', async () => {
    const made = await runCli(['tool', 'new', 'basename', '--dir', dir, '--action', 'of', '--arg', 'path', '--arg', 'suffix']);
    assert.equal(made.code, 0, made.stderr);
    const file = join(dir, 'tools', 'basename.yaml');
    assert.ok(existsSync(file));
    const manifest = ToolManifestSchema.parse(parseYaml(readFileSync(file, 'utf8')));
    assert.equal(manifest.executable.sha256, sha256sum(manifest.executable.path));
    assert.deepEqual(manifest.actions.of?.argv, ['{{path}}', '{{suffix}}']);
    assert.deepEqual(manifest.actions.of?.input.required, ['path', 'suffix']);
    assert.equal(manifest.actions.of?.risk, 'high', 'scaffolds start at high risk');

    // Follow the next steps exactly as printed.
    const sign = /countersign (tool sign \S+ --key \S+)/.exec(made.stdout);
    assert.ok(sign, made.stdout);
    const signed = await runCli(sign[1]!.split(' '));
    assert.equal(signed.code, 0, signed.stderr);
    const verifyCmd = /countersign (tool verify \S+ --dir \S+)/.exec(made.stdout);
    assert.ok(verifyCmd, made.stdout);
    const verified = await runCli(verifyCmd[1]!.split(' '));
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /^OK: /);
    assert.match(made.stdout, /kill -HUP/);

    // doctor verifies tools/ as the server would load it (development mode off).
    const doctor = await runCli(['doctor', '--dir', dir, '--json']);
    const tools = JSON.parse(doctor.stdout).checks.find((c: any) => c.control.startsWith('Signed tools only'));
    assert.equal(tools.result, 'PASS', tools.evidence);
    assert.match(tools.evidence, /basename \(/);
  });

  test('refuses to overwrite an existing manifest', async () => {
    const again = await runCli(['tool', 'new', '/usr/bin/basename', '--dir', dir]);
    assert.equal(again.code, 7, again.stderr);
    assert.match(again.stderr, /basename\.yaml already exists; choose another --name.*\[CONFLICT\]/);
  });

  test('--stdout prints a valid manifest, writes nothing, and sends the next steps to stderr', async () => {
    const before = readdirSync(join(dir, 'tools')).sort();
    const out = await runCli(['tool', 'new', '/usr/bin/dirname', '--dir', dir, '--name', 'parent', '--risk', 'low', '--stdout']);
    assert.equal(out.code, 0, out.stderr);
    const m = ToolManifestSchema.parse(parseYaml(out.stdout));
    assert.equal(m.name, 'parent');
    assert.equal(m.actions.run?.risk, 'low');
    assert.deepEqual(m.actions.run?.argv, []);
    assert.match(out.stderr, /Save it as .*parent\.yaml/);
    assert.deepEqual(readdirSync(join(dir, 'tools')).sort(), before);
  });

  test('refuses what the executor could never run: not executable, a directory, missing, not on PATH', async () => {
    const plain = join(root, 'notes.txt');
    writeFileSync(plain, 'not a program\n');
    chmodSync(plain, 0o644);
    const folder = join(root, 'folder');
    mkdirSync(folder);
    const [notExec, isDir, missing, notOnPath] = await Promise.all([
      runCli(['tool', 'new', plain, '--dir', dir]),
      runCli(['tool', 'new', folder, '--dir', dir]),
      runCli(['tool', 'new', join(root, 'nope'), '--dir', dir]),
      runCli(['tool', 'new', 'no-such-program-here', '--dir', dir]),
    ]);
    assert.equal(notExec.code, 2);
    assert.match(notExec.stderr, /notes\.txt: not executable \(mode 644\)/);
    assert.equal(isDir.code, 2);
    assert.match(isDir.stderr, /folder: not a regular file \(a directory\)/);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope: no such file/);
    assert.equal(notOnPath.code, 2);
    assert.match(notOnPath.stderr, /not found on PATH/);
    assert.equal(existsSync(join(dir, 'tools', 'notes_txt.yaml')), false);
  });

  test('refuses argument names and risks the manifest schema would refuse', async () => {
    const [dash, risk] = await Promise.all([
      runCli(['tool', 'new', '/usr/bin/basename', '--dir', dir, '--name', 'b2', '--arg', '-rf']),
      runCli(['tool', 'new', '/usr/bin/basename', '--dir', dir, '--name', 'b3', '--risk', 'none']),
    ]);
    assert.equal(dash.code, 2, dash.stderr);
    assert.match(dash.stderr, /--arg "-rf": input field names are letters/);
    assert.equal(risk.code, 2, risk.stderr);
    assert.match(risk.stderr, /--risk "none": one of low, medium, high, critical/);
  });
});
