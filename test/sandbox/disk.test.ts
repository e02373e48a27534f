/**
 * The work directory's size-limited disk (issue 11, section 3): what persists between steps,
 * what does not, how it is released, and that every way it can fail refuses the step.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BubblewrapRunner } from '../../src/sandbox/index.ts';
import { profile, SandboxHarness } from './harness.ts';

const TMPFS_MAGIC = 0x01021994;
const onTmpfs = (path: string) => statfsSync(path).type === TMPFS_MAGIC;
const ourMounts = () =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(' countersign-disk-'));

let h: SandboxHarness;
before(async () => {
  h = await SandboxHarness.create();
});
after(() => h.dispose());

describe('work directory disk', () => {
  it('keeps the work directory between steps, gives each step a fresh /tmp, and runs a step normally', async () => {
    const workDir = h.workDir();
    writeFileSync(join(workDir, 'input.txt'), 'from the host');
    symlinkSync('/etc/hostname', join(workDir, 'planted'));
    const first = await h.sh('cat input.txt > copy.txt && echo scratch > /tmp/scratch && cat /tmp/scratch', profile(), {
      workDir,
    });
    assert.equal(first.exitCode, 0, first.stderr);
    assert.equal(first.stdout, 'scratch\n');
    assert.equal(first.failure, null);
    // The host sees what the step wrote, at the same path, on the step disk.
    assert.equal(onTmpfs(workDir), true);
    assert.equal(readFileSync(join(workDir, 'copy.txt'), 'utf8'), 'from the host');
    // A planted link is carried over as a link, never followed.
    assert.equal(lstatSync(join(workDir, 'planted')).isSymbolicLink(), true);
    assert.equal(readlinkSync(join(workDir, 'planted')), '/etc/hostname');
    const second = await h.sh('cat copy.txt; echo; test -e /tmp/scratch && echo kept || echo fresh', profile(), { workDir });
    assert.equal(second.stdout, 'from the host\nfresh\n');
  });

  it('lets a later step have a larger budget than the first', async () => {
    const workDir = h.workDir();
    assert.equal((await h.sh('true', profile({ limits: { diskMB: 4 } }), { workDir })).exitCode, 0);
    const r = await h.sh('head -c 20000000 /dev/zero > big', profile({ limits: { diskMB: 32, fileSizeMB: 64 } }), { workDir });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.failure, null);
  });

  it('releases the disk with its content when the execution ends', async () => {
    const workDir = h.workDir();
    await h.sh('echo x > kept', profile(), { workDir });
    assert.equal(ourMounts().filter((l) => l.includes(workDir)).length, 1);
    await h.runner.releaseWorkDir(workDir);
    assert.equal(onTmpfs(workDir), false);
    assert.deepEqual(
      ourMounts().filter((l) => l.includes(workDir)),
      [],
    );
    await h.runner.releaseWorkDir(workDir); // twice is harmless
  });

  it('refuses a step whose work directory lost its disk behind the runner, and writes nothing to the host disk', async () => {
    const workDir = h.workDir();
    await h.sh('true', profile(), { workDir });
    execFileSync('/usr/bin/umount', [workDir]);
    await assert.rejects(h.sh('echo leaked > leaked', profile(), { workDir }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SANDBOX_UNAVAILABLE');
      assert.match(err.message, /no longer on its size-limited disk/);
      return true;
    });
    assert.throws(() => lstatSync(join(workDir, 'leaked')), { code: 'ENOENT' });
  });

  it('refuses a work directory holding a FIFO, which cannot be carried onto the disk', async () => {
    const workDir = h.workDir();
    execFileSync('/usr/bin/mkfifo', [join(workDir, 'pipe')]);
    await assert.rejects(h.sh('true', profile(), { workDir }), { code: 'SANDBOX_UNAVAILABLE' });
    assert.equal(onTmpfs(workDir), false);
  });
});

describe('fail closed', () => {
  it('refuses to create a runner when the disk cannot be mounted', async () => {
    await assert.rejects(BubblewrapRunner.create({ mountPython: '/bin/false', cgroups: 'off' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SANDBOX_UNAVAILABLE');
      assert.match(err.message, /disk budget/);
      return true;
    });
  });

  it('detaches the disks of an executor that died without disposing its runner, and only those of its pid namespace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'countersign-stale-disk-'));
    const dead = spawnSync('/bin/true').pid ?? 0;
    const pidns = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
    const stale = join(dir, 'stale');
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(stale);
    mkdirSync(elsewhere);
    execFileSync('/usr/bin/mount', ['-t', 'tmpfs', '-o', 'size=1m', `countersign-disk-${pidns}-${dead}`, stale]);
    // The same pid in another pid namespace may be a live executor sharing this mount namespace.
    execFileSync('/usr/bin/mount', ['-t', 'tmpfs', '-o', 'size=1m', `countersign-disk-1-${dead}`, elsewhere]);
    try {
      const runner = await BubblewrapRunner.create({ cgroups: 'off' });
      await runner.dispose();
      assert.equal(onTmpfs(stale), false);
      assert.equal(onTmpfs(elsewhere), true);
    } finally {
      spawnSync('/usr/bin/umount', ['--lazy', stale]);
      spawnSync('/usr/bin/umount', ['--lazy', elsewhere]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
