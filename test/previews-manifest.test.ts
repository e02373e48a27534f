// Issue 17: a manifest whose preview could write, or would see the step's own secrets, is
// refused at signing (`countersign tool sign`) and at load (the server and executor do not start).
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { CountersignError } from '../src/errors/index.ts';
import {
  formatSignatureFile,
  generatePublisherKeyPair,
  loadTool,
  loadToolDir,
  manifestSigningText,
  parsePublisherPublicKey,
  SIGNATURE_SUFFIX,
  signManifestText,
} from '../src/tools/index.ts';
import { runCli } from './support/cli.ts';
import { tempDir } from './support/server.ts';

const SHA = 'a'.repeat(64);

/** A kubectl-like manifest; `edit` changes the preview action or the tool before it is written. */
function manifest(edit: (m: any) => void = () => {}): any {
  const m = parseYaml(`apiVersion: countersign/v1
kind: Tool
name: kubish
version: 1.0.0
executable: { path: /bin/true, sha256: ${SHA} }
actions:
  diff:
    argv: [diff, "{{name}}"]
    input: { properties: { name: { type: string } }, required: [name] }
    risk: low
    sandbox:
      readOnlyPaths: [/srv/cluster]
      secrets: [{ name: READ_TOKEN, from: "env:KUBISH_READ" }]
  apply:
    argv: [apply, "{{name}}"]
    input: { properties: { name: { type: string } }, required: [name] }
    risk: medium
    preview: { action: diff }
    sandbox:
      writablePaths: [/srv/cluster]
      secrets: [{ name: WRITE_TOKEN, from: "env:KUBISH_WRITE" }]
`);
  edit(m);
  return m;
}

const UNSAFE: [string, (m: any) => void, RegExp][] = [
  ['writable paths', (m) => (m.actions.diff.sandbox.writablePaths = ['/srv/cluster']), /has writable paths/],
  ['destructive', (m) => (m.actions.diff.destructive = true), /is destructive/],
  ["the step's own secret", (m) => m.actions.diff.sandbox.secrets.push({ name: 'W', from: 'env:KUBISH_WRITE' }), /KUBISH_WRITE/],
  [
    'the tool profile it shares with the step',
    (m) => {
      delete m.actions.diff.sandbox;
      delete m.actions.apply.sandbox;
      m.sandbox = { secrets: [{ name: 'TOKEN', from: 'env:KUBISH_TOKEN' }] };
    },
    /would receive the step's own secret/,
  ],
  ['a preview of its own', (m) => (m.actions.diff.preview = { action: 'apply' }), /has a preview of its own/],
  ['a missing action', (m) => (m.actions.apply.preview = { action: 'nope' }), /not an action of this manifest/],
  ['itself', (m) => (m.actions.apply.preview = { action: 'apply' }), /its own preview/],
  [
    'input the step does not give',
    (m) => (m.actions.diff.input.properties.extra = { type: 'string' }),
    /input fields the step does not give/,
  ],
];

describe('preview manifests', () => {
  const dir = tempDir('cs-preview-manifest-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a read-only preview with its own credentials loads', () => {
    const loaded = loadTool(manifest(), 'kubish.yaml');
    assert.deepEqual(loaded.manifest.actions.apply?.preview, { action: 'diff', recheck: 'before-step' });
  });

  for (const [what, edit, message] of UNSAFE) {
    test(`a preview with ${what} is refused at load with PREVIEW_UNSAFE`, () => {
      assert.throws(
        () => loadTool(manifest(edit), 'kubish.yaml'),
        (err: unknown) => err instanceof CountersignError && err.code === 'PREVIEW_UNSAFE' && message.test(err.message),
      );
    });
  }

  test('a signed manifest with a writable preview stops the tools directory from loading (fail closed)', () => {
    const tools = join(dir, 'tools');
    mkdirSync(tools, { recursive: true });
    const pair = generatePublisherKeyPair();
    const doc = manifest(UNSAFE[0]![1]);
    const file = join(tools, 'kubish.yaml');
    writeFileSync(file, JSON.stringify(doc));
    const sig = signManifestText(manifestSigningText(doc), createPrivateKey(pair.privateKeyPem));
    writeFileSync(`${file}${SIGNATURE_SUFFIX}`, formatSignatureFile([sig]));
    const publisher = parsePublisherPublicKey(pair.publicKeyPem);
    assert.throws(
      () => loadToolDir(tools, { keys: new Map([[publisher.keyId, publisher.key]]), required: 1, developmentMode: false }),
      (err: unknown) => err instanceof CountersignError && err.code === 'PREVIEW_UNSAFE',
    );
  });

  test('`countersign tool sign` refuses a manifest whose preview could write', async () => {
    const pair = generatePublisherKeyPair();
    const key = join(dir, 'publisher.key');
    writeFileSync(key, pair.privateKeyPem, { mode: 0o600 });
    const file = join(dir, 'sneaky.yaml');
    writeFileSync(file, JSON.stringify(manifest(UNSAFE[1]![1])));
    const r = await runCli(['tool', 'sign', file, '--key', key]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /PREVIEW_UNSAFE/);
    assert.match(r.stderr, /is destructive/);
  });
});
