// Keys on a shared path (`keys.dir`, e.g. a mounted secret) are where every tool looks: the
// read-side commands (audit verify, audit checkpoint and its verifier key, doctor, backup) find
// the audit keys there, not in `<dir>/keys`, which no longer exists; `grant rotate-key` writes
// the new grant key there.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initDataDir } from '../src/server/init.ts';
import { runCli } from './support/cli.ts';
import { tempDir } from './support/server.ts';

describe('keys.dir is read by the local tools', () => {
  let dir: string;
  let keys: string;
  const cli = (...args: string[]) => runCli([...args, '--dir', dir]);

  before(async () => {
    dir = join(tempDir('cs-keys-dir-'), 'data');
    await initDataDir(dir, {});
    keys = join(tempDir('cs-keys-mount-'), 'keys');
    renameSync(join(dir, 'keys'), keys);
    const file = join(dir, 'countersign.yaml');
    writeFileSync(file, `${readFileSync(file, 'utf8')}keys:\n  dir: ${keys}\n`);
  });
  after(() => {
    for (const d of [dir, keys]) if (d) rmSync(dirname(d), { recursive: true, force: true });
  });

  test('audit verify, checkpoint, verifier-key, backup and doctor use the configured keys', async () => {
    assert.equal(existsSync(join(dir, 'keys')), false);
    const verify = await cli('audit', 'verify', '--json');
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.equal(JSON.parse(verify.stdout).ok, true);
    const cp = await cli('audit', 'checkpoint', '--json');
    assert.equal(cp.code, 0, cp.stdout + cp.stderr);
    const key = (await cli('audit', 'verifier-key')).stdout.trim();
    const proof = join(dir, '..', 'entry-1.json');
    assert.equal((await cli('audit', 'prove', '1', '--output', proof)).code, 0);
    const checked = await runCli(['audit', 'verify-proof', proof, '--key', key]);
    assert.equal(checked.code, 0, checked.stdout + checked.stderr);
    const backup = await cli('backup', '--output', join(dir, '..', 'store.backup'), '--json');
    assert.equal(backup.code, 0, backup.stdout + backup.stderr);
    assert.equal(JSON.parse(backup.stdout).audit.ok, true);
    const doctor = await cli('doctor', '--json');
    const report = JSON.parse(doctor.stdout) as { checks: { control: string; result: string; evidence: string }[] };
    const audit = report.checks.filter((c) => /audit/i.test(c.control));
    assert.ok(audit.length > 0);
    for (const c of audit) assert.notEqual(c.result, 'FAIL', `${c.control}: ${c.evidence}`);
  });

  test('grant rotate-key writes the new key and grant-current into keys.dir, nothing into <dir>/keys', async () => {
    const before = readFileSync(join(keys, 'grant-current'), 'utf8').trim();
    const rotated = await cli('grant', 'rotate-key', '--json');
    assert.equal(rotated.code, 0, rotated.stdout + rotated.stderr);
    const r = JSON.parse(rotated.stdout) as { kid: string; previous: string };
    assert.equal(r.previous, before);
    assert.equal(readFileSync(join(keys, 'grant-current'), 'utf8').trim(), r.kid);
    assert.ok(readdirSync(keys).includes(`grant-${r.kid}.key`));
    assert.ok(readdirSync(keys).includes(`grant-${before}.pub`), 'the previous public key stays');
    assert.equal(existsSync(join(dir, 'keys')), false);
  });
});
