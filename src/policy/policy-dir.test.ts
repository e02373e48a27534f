import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CountersignError } from '../errors/index.ts';
import { BASELINE_POLICIES } from './baseline.ts';
import { checkCanaries } from './canaries.ts';
import {
  baselinePolicySet,
  loadCedarAuthorizer,
  loadPolicyDir,
  policiesPath,
  splitPolicyFile,
  writeBaselinePolicies,
} from './policy-dir.ts';
import { BASELINE_SCHEMA, SCHEMA_FILE } from './schema.ts';

const root = mkdtempSync(join(tmpdir(), 'countersign-policy-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function freshDir(): string {
  const dir = join(root, `d${n++}`);
  mkdirSync(dir);
  return dir;
}

/** A data dir holding the baseline schema and the given policy files. */
function dirWith(files: Record<string, string>): string {
  const dir = freshDir();
  mkdirSync(policiesPath(dir));
  writeFileSync(join(policiesPath(dir), SCHEMA_FILE), BASELINE_SCHEMA);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(policiesPath(dir), name), text);
  return dir;
}

function assertCode(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof CountersignError && err.code === code && pattern.test(err.message));
}

describe('writeBaselinePolicies and loadPolicyDir', () => {
  it('round-trips the baseline: ids from @id, files recorded, canaries pass', () => {
    const dir = freshDir();
    const written = writeBaselinePolicies(dir);
    assert.equal(written.length, Object.keys(BASELINE_POLICIES).length + 1);
    assert.equal(readFileSync(join(policiesPath(dir), SCHEMA_FILE), 'utf8'), BASELINE_SCHEMA);
    const loaded = loadPolicyDir(dir);
    assert.deepEqual(loaded.policies, baselinePolicySet());
    assert.equal(loaded.files['tenant-isolation'], 'guardrails.cedar');
    assert.equal(loaded.files['role-admin'], 'roles.cedar');
    assert.deepEqual(checkCanaries(loadCedarAuthorizer(dir)), { ok: true });
  });

  it('refuses to overwrite existing policy files unless asked', () => {
    const dir = freshDir();
    writeBaselinePolicies(dir);
    writeFileSync(
      join(policiesPath(dir), 'roles.cedar'),
      '@id("edited") permit(principal in Countersign::Group::"admin", action, resource);',
    );
    assertCode(() => writeBaselinePolicies(dir), 'ALREADY_INITIALIZED', /already exists/);
    assert.match(readFileSync(join(policiesPath(dir), 'roles.cedar'), 'utf8'), /edited/);
    writeBaselinePolicies(dir, { overwrite: true });
    assert.equal(readFileSync(join(policiesPath(dir), 'roles.cedar'), 'utf8'), BASELINE_POLICIES['roles.cedar']);
  });

  it('names a lone unannotated policy after its file', () => {
    const loaded = loadPolicyDir(
      dirWith({ 'ops-freeze.cedar': '// why\npermit(principal in Countersign::Group::"ops", action, resource);\n' }),
    );
    assert.deepEqual(Object.keys(loaded.policies), ['ops-freeze']);
  });

  it('refuses a multi-policy file with an unannotated policy, a duplicate id, or a template', () => {
    const p = 'permit(principal, action, resource);';
    assertCode(() => splitPolicyFile('many.cedar', `@id("a") ${p}\n${p}`), 'CONFIG_INVALID', /many\.cedar: .*no @id/);
    assertCode(
      () => splitPolicyFile('dup.cedar', `@id("a") ${p}\n@id("a") ${p}`),
      'CONFIG_INVALID',
      /dup\.cedar: policy id "a" is used twice/,
    );
    assertCode(() => splitPolicyFile('t.cedar', 'permit(principal == ?principal, action, resource);'), 'CONFIG_INVALID', /templates/);
    assertCode(() => splitPolicyFile('bad.cedar', `@id("no spaces allowed") ${p}`), 'CONFIG_INVALID', /bad\.cedar: policy id/);
    assertCode(
      () => loadPolicyDir(dirWith({ 'a.cedar': `@id("x") ${p}`, 'b.cedar': `@id("x") ${p}` })),
      'CONFIG_INVALID',
      /"x" is defined in both a\.cedar and b\.cedar/,
    );
  });

  it('names the file of a policy that does not parse or fails validation', () => {
    assertCode(() => loadPolicyDir(dirWith({ 'broken.cedar': 'permit(principal, action' })), 'CONFIG_INVALID', /broken\.cedar/);
    const dir = dirWith({ 'typo.cedar': '@id("typo") permit(principal, action, resource) when { resource.tennant == "x" };' });
    assertCode(() => loadCedarAuthorizer(dir), 'CONFIG_INVALID', /policy "typo" \(typo\.cedar\)/);
  });

  it('refuses to serve a policy set that allows a canary, naming it', () => {
    const dir = freshDir();
    writeBaselinePolicies(dir);
    writeFileSync(join(policiesPath(dir), 'open.cedar'), 'permit(principal, action, resource);');
    assert.equal(Object.keys(loadPolicyDir(dir).policies).includes('open'), true);
    assertCode(() => loadCedarAuthorizer(dir), 'CONFIG_INVALID', /must always be denied: .*"principal with no group reads a plan"/);
  });

  it('refuses a missing directory, a missing schema, or no policies at all', () => {
    assertCode(() => loadPolicyDir(freshDir()), 'CONFIG_INVALID', /cannot read the policy directory/);
    const noSchema = freshDir();
    mkdirSync(policiesPath(noSchema));
    writeFileSync(join(policiesPath(noSchema), 'a.cedar'), 'permit(principal, action, resource);');
    assertCode(() => loadPolicyDir(noSchema), 'CONFIG_INVALID', /schema\.cedarschema/);
    assertCode(() => loadPolicyDir(dirWith({ 'empty.cedar': '// nothing yet\n' })), 'CONFIG_INVALID', /no policies/);
  });
});
