// `countersign policy upgrade`: a data directory made by an earlier release (its schema and
// baseline roles lack an action this release added) no longer loads, the error names the
// command, and the upgrade brings it to this release without losing the operator's own files
// or edits, and never writes a set the server would refuse.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { initDataDir } from '../src/server/init.ts';
import { runCli } from './support/cli.ts';
import { rawSql } from './support/raw-db.ts';
import { tempDir } from './support/server.ts';

describe('policy upgrade', () => {
  let dir: string;
  let policies: string;
  const read = (f: string) => readFileSync(join(policies, f), 'utf8');

  before(async () => {
    dir = join(tempDir('cs-policy-upgrade-'), 'data');
    await initDataDir(dir, {});
    policies = join(dir, 'policies');
    // An earlier release: no tool.reload action in the schema or in the host's role.
    writeFileSync(join(policies, 'schema.cedarschema'), read('schema.cedarschema').replace(/^\s*action "tool\.reload".*\n/m, ''));
    writeFileSync(join(policies, 'roles.cedar'), read('roles.cedar').replace(',\n    Countersign::Action::"tool.reload"', ''));
    // The operator's own policy, which must survive the upgrade untouched.
    writeFileSync(
      join(policies, 'team.cedar'),
      '@id("team-read")\npermit (principal in Countersign::Group::"ops", action == Countersign::Action::"plan.read", resource);\n',
    );
  });

  test("an earlier release's set does not load, and the error names the upgrade", async () => {
    const r = await runCli(['policy', 'validate', '--dir', dir]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /action "tool\.reload" is not declared.*countersign policy upgrade/);
  });

  test('--dry-run says what would change and writes nothing', async () => {
    const before = read('roles.cedar');
    const r = await runCli(['policy', 'upgrade', '--dir', dir, '--dry-run', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.dryRun, true);
    const byFile = Object.fromEntries(report.files.map((f: { file: string; change: string }) => [f.file, f.change]));
    assert.equal(byFile['roles.cedar'], 'replaced');
    assert.equal(byFile['schema.cedarschema'], 'replaced');
    assert.equal(byFile['guardrails.cedar'], 'unchanged');
    assert.equal(read('roles.cedar'), before);
    assert.ok(!readdirSync(policies).some((f) => f.includes('.bak-')));
  });

  test('a set the server would refuse is never written', async () => {
    // An operator policy naming an action no release declares: the upgraded set cannot load.
    writeFileSync(
      join(policies, 'broken.cedar'),
      '@id("broken")\npermit (principal, action == Countersign::Action::"plan.teleport", resource);\n',
    );
    const before = read('schema.cedarschema');
    const r = await runCli(['policy', 'upgrade', '--dir', dir]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /the upgraded policy set would not load, so nothing was changed/);
    assert.equal(read('schema.cedarschema'), before);
    rmSync(join(policies, 'broken.cedar'));
  });

  test('upgrade replaces the baseline files, keeps backups and the operator files, and the set loads', async () => {
    const oldRoles = read('roles.cedar');
    const r = await runCli(['policy', 'upgrade', '--dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /roles\.cedar: replaced \(the previous text is in .*roles\.cedar\.bak-\d{8}T\d{6}\)/);
    assert.match(r.stdout, /OK.*2 file\(s\) upgraded/);
    const backup = readdirSync(policies).find((f) => f.startsWith('roles.cedar.bak-'));
    assert.ok(backup);
    assert.equal(readFileSync(join(policies, backup), 'utf8'), oldRoles);
    assert.ok(existsSync(join(policies, 'team.cedar')));
    assert.match(read('roles.cedar'), /Countersign::Action::"tool\.reload"/);
    const valid = await runCli(['policy', 'validate', '--dir', dir]);
    assert.equal(valid.code, 0, valid.stderr);
    // Audited as the host operation policy.upgrade: decided and recorded before the files changed.
    const entries = await rawSql(
      { dir, databaseUrl: undefined },
      "select actor, outcome, details from audit_log where action = 'policy.upgrade' order by seq",
    );
    assert.deepEqual(
      entries.map((e) => [e.actor, e.outcome]),
      [
        ['system', 'allowed'],
        ['system', 'succeeded'],
      ],
    );
    const done = JSON.parse(entries[1].details);
    assert.match(done.operator, /^operator:local/);
    assert.ok(done.changes.includes('roles.cedar: replaced'));
    // Run again: nothing left to do.
    const again = await runCli(['policy', 'upgrade', '--dir', dir]);
    assert.match(again.stdout, /are this release's already/);
  });
});
