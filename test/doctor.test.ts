// `countersign doctor`: PASS on a fresh init, and FAIL for each control deliberately weakened.
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DoctorReport, renderDoctorMarkdown, runDoctor } from '../src/doctor/index.ts';
import { checkSandboxHost, type SandboxHostReport } from '../src/sandbox/index.ts';
import { initDataDir } from '../src/server/init.ts';
import { runCli } from './support/cli.ts';
import { ENGINES } from './support/engines.ts';
import { rawSql } from './support/raw-db.ts';
import { tempDir } from './support/server.ts';

const result = (r: DoctorReport, control: RegExp) => {
  const c = r.checks.find((x) => control.test(x.control));
  assert.ok(c, `no control matching ${control}`);
  return c;
};

function editConfig(dir: string, from: string | RegExp, to: string): void {
  const file = join(dir, 'countersign.yaml');
  const text = readFileSync(file, 'utf8');
  const next = text.replace(from, to);
  assert.notEqual(next, text, `config edit ${from} did not apply`);
  writeFileSync(file, next);
}

let sandbox: SandboxHostReport;
const roots: string[] = [];
before(async () => {
  sandbox = await checkSandboxHost();
});
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

for (const engine of ENGINES) {
  describe(`doctor on ${engine.name}`, { skip: engine.skip }, () => {
    const drops: (() => Promise<void>)[] = [];
    after(async () => {
      for (const d of drops) await d();
    });

    async function fresh(): Promise<{ dir: string; databaseUrl: string | undefined }> {
      const db = await engine.fresh();
      drops.push(db.drop);
      const root = tempDir('cs-doctor-');
      roots.push(root);
      const dir = join(root, 'data');
      await initDataDir(dir, { databaseUrl: db.databaseUrl });
      return { dir, databaseUrl: db.databaseUrl };
    }
    const doctor = (d: { dir: string; databaseUrl: string | undefined }) =>
      runDoctor(d.dir, { databaseUrl: d.databaseUrl, sandboxCheck: async () => sandbox });

    test('a fresh init passes every control (NOTE where nothing is configured, and for the local publisher key of init)', async () => {
      const d = await fresh();
      const r = await runDoctor(d.dir, { databaseUrl: d.databaseUrl });
      assert.equal(r.ok, true, renderDoctorMarkdown(r));
      assert.equal(r.counts.fail, 0);
      for (const control of [
        /^Policy/,
        /^Sandbox/,
        /^Audit chain/,
        /^Audit: last/,
        /^Keys/,
        /^Development/,
        /^Signed tools/,
        /^Rate limits/,
        /^Step-up/,
      ]) {
        assert.equal(result(r, control).result, 'PASS', `${control}: ${result(r, control).evidence}`);
      }
      assert.equal(result(r, /JWKS/).result, 'NOTE');
      // init's local publisher key is trusted and its private half is in keys/: a note for reviewers.
      assert.equal(result(r, /^Trust store/).result, 'NOTE');
      assert.match(result(r, /^Trust store/).evidence, /whoever can read the data directory can publish tools/);
      assert.match(result(r, /^Signed tools/).evidence, /echo \([0-9a-f]{16}\)/);
    });

    test('a broken audit chain is a FAIL', async () => {
      const d = await fresh();
      await rawSql(d, 'update audit_log set details = ? where seq = 2', ['{"edited":true}']);
      const r = await doctor(d);
      assert.equal(r.ok, false);
      assert.equal(result(r, /^Audit chain/).result, 'FAIL');
      assert.match(result(r, /^Audit chain/).evidence, /seq 2/);
    });
  });
}

describe('doctor FAILs each weakened control', () => {
  async function fresh(): Promise<string> {
    const root = tempDir('cs-doctor-');
    roots.push(root);
    const dir = join(root, 'data');
    await initDataDir(dir);
    return dir;
  }
  const doctor = (dir: string) => runDoctor(dir, { sandboxCheck: async () => sandbox });

  test('a world-readable key', async () => {
    const dir = await fresh();
    const grantKey = readdirSync(join(dir, 'keys')).find((n) => /^grant-.*\.key$/.test(n))!;
    chmodSync(join(dir, 'keys', grantKey), 0o644);
    const r = await doctor(dir);
    assert.equal(result(r, /^Keys/).result, 'FAIL');
    assert.match(result(r, /^Keys/).evidence, new RegExp(`${grantKey} is mode 644`));
  });

  test('developmentMode true: the switch and the sandbox enforcement both FAIL', async () => {
    const dir = await fresh();
    editConfig(dir, 'developmentMode: false', 'developmentMode: true');
    const r = await doctor(dir);
    assert.equal(result(r, /^Development/).result, 'FAIL');
    assert.equal(result(r, /^Sandbox/).result, 'FAIL');
    assert.match(result(r, /^Sandbox/).evidence, /NOT enforced/);
  });

  test('an unsigned tool that loads only because of development mode', async () => {
    const dir = await fresh();
    editConfig(dir, 'developmentMode: false', 'developmentMode: true');
    rmSync(join(dir, 'tools', 'echo.yaml.sig'));
    const r = await doctor(dir);
    assert.equal(result(r, /^Signed tools/).result, 'FAIL');
    assert.match(result(r, /^Signed tools/).evidence, /echo\.yaml: needs 1 valid signature.*developmentMode lets the unsigned ones load/);
  });

  test('rate limits disabled', async () => {
    const dir = await fresh();
    editConfig(dir, /rateLimit:\n {2}enabled: true/, 'rateLimit:\n  enabled: false');
    const r = await doctor(dir);
    assert.equal(result(r, /^Rate limits/).result, 'FAIL');
  });

  test('the console disabled while step-up is on: risky plans could never be approved', async () => {
    const dir = await fresh();
    const yaml = readFileSync(join(dir, 'countersign.yaml'), 'utf8');
    writeFileSync(join(dir, 'countersign.yaml'), `${yaml}console:\n  enabled: false\n  stepUp:\n    environments: { prod: [medium] }\n`);
    const off = await doctor(dir);
    assert.equal(result(off, /^Step-up/).result, 'FAIL');
    assert.match(result(off, /^Step-up/).evidence, /high, critical risk; medium risk in prod .*can never be approved/);
    // Step-up off everywhere: nothing needs the console, a note says so.
    writeFileSync(
      join(dir, 'countersign.yaml'),
      `${yaml}console:\n  enabled: false\n  stepUp:\n    risks: []\n    environments: { prod: [] }\n`,
    );
    assert.equal(result(await doctor(dir), /^Step-up/).result, 'NOTE');
  });

  test('an OIDC provider allowed on private addresses', async () => {
    const dir = await fresh();
    writeFileSync(
      join(dir, 'countersign.yaml'),
      `${readFileSync(join(dir, 'countersign.yaml'), 'utf8')}
oidc:
  issuer: http://127.0.0.1:9/
  audience: countersign
  jwksUrl: http://127.0.0.1:9/jwks
  jwksAllowlist: [127.0.0.1]
  allowPrivateAddresses: true
`,
    );
    const r = await doctor(dir);
    assert.equal(result(r, /JWKS/).result, 'FAIL');
    assert.equal(result(r, /^Development/).result, 'FAIL');
  });

  test('the CLI prints a pasteable Markdown table, --json, and exits 1 on any FAIL', async () => {
    const dir = await fresh();
    const ok = await runCli(['doctor', '--dir', dir]);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /^\| Control \| Result \| Evidence \|$/m);
    assert.match(ok.stdout, /^\| Rate limits on \| PASS \| per principal \d+\/min/m);
    editConfig(dir, /rateLimit:\n {2}enabled: true/, 'rateLimit:\n  enabled: false');
    const failed = await runCli(['doctor', '--dir', dir, '--json']);
    assert.equal(failed.code, 1);
    const report = JSON.parse(failed.stdout) as DoctorReport;
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.checks.filter((c) => c.result === 'FAIL').map((c) => c.control),
      ['Rate limits on'],
    );
  });
});
