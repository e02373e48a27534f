// Invariant 9 / issue 5 item 3: path inputs are canonicalized on the host (symlinks, `..`) and
// must stay inside the profile's roots; a symlink planted by an earlier step cannot escape.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunningExecutor, startExecutor } from '../../src/executor/executor.ts';
import { ENGINES } from '../support/engines.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { signManifestFile } from '../support/tools.ts';

const sha = (p: string) =>
  createHash('sha256')
    .update(readFileSync(realpathSync(p)))
    .digest('hex');

function writePathTools(dir: string): void {
  writeFileSync(
    join(dir, 'tools', 'files.yaml'),
    `apiVersion: countersign/v1
kind: Tool
name: files
version: 1.0.0
executable: { path: /bin/cat, sha256: ${sha('/bin/cat')} }
actions:
  show:
    argv: ["--", "{{file}}"]
    input: { properties: { file: { type: string, format: path } }, required: [file] }
    risk: low
`,
  );
  writeFileSync(
    join(dir, 'tools', 'link.yaml'),
    `apiVersion: countersign/v1
kind: Tool
name: link
version: 1.0.0
executable: { path: /bin/ln, sha256: ${sha('/bin/ln')} }
actions:
  make:
    argv: ["-s", "--", "{{target}}", "{{name}}"]
    input: { properties: { target: { type: string, allowLeadingDash: false }, name: { type: string, format: path } }, required: [target, name] }
    risk: low
`,
  );
  signManifestFile(dir, join(dir, 'tools', 'files.yaml'));
  signManifestFile(dir, join(dir, 'tools', 'link.yaml'));
  const file = join(dir, 'countersign.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/pollMilliseconds: \d+/, 'pollMilliseconds: 50'));
}

describe('path inputs', () => {
  let s: TestServer;
  let exe: RunningExecutor;
  before(async () => {
    s = await startTestServer(ENGINES[0]!, { configure: writePathTools });
    exe = await startExecutor(s.dir, { store: s.ctx.store, log: () => {} });
  });
  after(async () => {
    await exe?.stop();
    await s?.close();
  });

  const run = async (steps: object[]) => {
    const plan = (await s.request('POST', '/v1/plans', { body: { intent: 'paths', environment: 'dev', steps } })).body;
    assert.equal(plan.status, 'approved', JSON.stringify(plan));
    const exec = (await s.request('POST', `/v1/plans/${plan.id}/executions`, { body: {} })).body;
    for (let i = 0; i < 200; i++) {
      const e = (await s.request('GET', `/v1/executions/${exec.id}`)).body;
      if (!['queued', 'running'].includes(e.status)) return e;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('timeout');
  };

  test('a path inside the work directory works', async () => {
    const e = await run([
      { tool: 'link', action: 'make', input: { target: 'hello', name: 'inside' } },
      { tool: 'files', action: 'show', input: { file: 'inside' } },
    ]);
    // `inside` is a dangling link to ./hello within the work dir: allowed, cat fails harmlessly.
    assert.equal(e.steps[0].status, 'succeeded');
    assert.doesNotMatch(e.reason ?? '', /outside/);
  });

  for (const file of ['/etc/shadow', '../../../../etc/passwd', join(s_dirPlaceholder(), 'keys/audit.key')]) {
    test(`refuses ${file} before anything runs`, async () => {
      const e = await run([{ tool: 'files', action: 'show', input: { file: file.replace('@DATA@', s.dir) } }]);
      assert.equal(e.status, 'failed');
      assert.match(e.reason, /outside|sandbox does not contain|PATH/i);
      assert.equal(e.steps[0].stdout, '');
    });
  }

  test('a symlink planted by an earlier step cannot lead a later step outside', async () => {
    const e = await run([
      { tool: 'link', action: 'make', input: { target: '/etc/shadow', name: 'escape' } },
      { tool: 'files', action: 'show', input: { file: 'escape' } },
    ]);
    assert.equal(e.steps[0].status, 'succeeded');
    assert.equal(e.status, 'failed');
    assert.match(e.reason, /outside/);
    assert.doesNotMatch(JSON.stringify(e), /root:/);
  });
});

function s_dirPlaceholder(): string {
  return '@DATA@';
}
