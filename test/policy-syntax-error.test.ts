// Issue 11: a policy file with a syntax error stops a server at start (exit 3, the file named)
// and is refused at SIGHUP with the old set kept (test/tool-reload.test.ts). Both are right;
// doctor says which files do not parse, why, and what a start or a reload will do with them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { renderDoctorMarkdown, runDoctor } from '../src/doctor/index.ts';
import { initDataDir } from '../src/server/init.ts';
import { runCli } from './support/cli.ts';
import { tempDir } from './support/server.ts';

describe('a policy file with a syntax error', () => {
  const root = tempDir('cs-policy-syntax-');
  const dir = join(root, 'data');

  before(async () => {
    await initDataDir(dir);
    writeFileSync(join(dir, 'policies', 'oops.cedar'), 'permit (principal, action\n');
    writeFileSync(join(dir, 'policies', 'zzz-typo.cedar'), 'permit (principal, action, resource) when { principal.kind == };\n');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('doctor FAILs the policy control naming every file that does not parse, and what start and reload do', async () => {
    // The policy control is what is judged here; the host's sandbox is not.
    const r = await runDoctor(dir, { sandboxCheck: async () => ({ ok: true, items: [], cgroupVersion: null }) });
    const policy = r.checks.find((c) => c.control.startsWith('Policy:'));
    assert.ok(policy);
    assert.equal(policy.result, 'FAIL');
    assert.match(policy.evidence, new RegExp(`${join(dir, 'policies', 'oops.cedar')}: `));
    assert.match(policy.evidence, new RegExp(`${join(dir, 'policies', 'zzz-typo.cedar')}: `));
    assert.match(policy.evidence, /exits \(CONFIG_INVALID, exit 3\)/);
    assert.match(policy.evidence, /SIGHUP refuses it and keeps serving its previous set/);
    assert.equal(r.ok, false);
    assert.match(renderDoctorMarkdown(r), /oops\.cedar/);
  });

  test('countersign serve refuses to start: exit 3, the file named, and no child left running', async () => {
    const r = await runCli(['serve', '--dir', dir, '--port', '0']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /oops\.cedar/);
    assert.match(r.stderr, /CONFIG_INVALID/);
    const survivors = readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
        } catch {
          return false;
        }
      });
    assert.deepEqual(survivors, [], 'an API or executor child outlived serve');
  });
});
