import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MountHelper } from './mounter.ts';
import { SECCOMP_PYTHON } from './seccomp.ts';

const root = process.getuid?.() === 0;

/** The mountinfo line of the mount at `point`: [per-mount options, filesystem options], or null. */
function mountAt(point: string): [string, string] | null {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ');
    const fields = before?.split(' ') ?? [];
    if (fields[4] === point) return [fields[5] ?? '', (after ?? '').split(' ')[2] ?? ''];
  }
  return null;
}

describe('the mount helper (mount(2) and umount2(2) through python3)', { skip: root ? false : 'needs root' }, () => {
  let dir: string;
  let helper: MountHelper;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cs-mounter-'));
    helper = new MountHelper(SECCOMP_PYTHON);
  });
  after(async () => {
    await helper.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a tmpfs is nosuid and nodev with its size, inodes and mode; a resize keeps them; a detach removes it', async () => {
    const point = join(dir, 'disk');
    mkdirSync(point);
    await helper.tmpfs('countersign-disk-test', point, 'size=1048576,nr_inodes=1024,mode=0711');
    const [flags, options] = mountAt(point) ?? ['', ''];
    assert.match(flags, /(^|,)nosuid(,|$)/);
    assert.match(flags, /(^|,)nodev(,|$)/);
    assert.match(options, /size=1024k/);
    assert.match(options, /nr_inodes=1024/);
    assert.match(options, /mode=711/);
    assert.equal(statfsSync(point).blocks * statfsSync(point).bsize, 1048576);
    await helper.resize(point, 'size=2097152,nr_inodes=2048');
    const [flags2, options2] = mountAt(point) ?? ['', ''];
    assert.match(flags2, /(^|,)nosuid(,|$)/, 'a remount must not drop nosuid');
    assert.match(flags2, /(^|,)nodev(,|$)/, 'a remount must not drop nodev');
    assert.match(options2, /size=2048k/);
    // A bind shares the tmpfs (and its budget) at another path.
    const bound = join(dir, 'bound');
    mkdirSync(bound);
    await helper.bind(point, bound);
    assert.equal(statfsSync(bound).blocks * statfsSync(bound).bsize, 2097152);
    await helper.detach(bound);
    await helper.detach(point);
    assert.equal(mountAt(point), null);
    assert.equal(mountAt(bound), null);
  });

  test('a refused call fails with its errno; a helper that died is started again for the next request', async () => {
    await assert.rejects(helper.tmpfs('countersign-disk-test', join(dir, 'missing'), 'size=1m'), /No such file or directory \(errno 2\)/);
    await assert.rejects(helper.detach(join(dir, 'not-a-mount')), /errno (2|22)/);
    // Kill it between requests: the next request starts another.
    const helpers = readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('libc.umount2'));
    assert.equal(helpers.length, 1, 'one helper runs');
    process.kill(helpers[0] as number, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    const point = join(dir, 'again');
    mkdirSync(point);
    await helper.tmpfs('countersign-disk-test', point, 'size=1m');
    await helper.detach(point);
  });

  test('no helper (an interpreter that does not run it) fails every request, and none hangs', async () => {
    const broken = new MountHelper('/bin/false');
    try {
      await assert.rejects(broken.tmpfs('countersign-disk-test', dir, 'size=1m'), /the mount helper failed: it exited/);
      await assert.rejects(broken.detach(dir), /the mount helper failed/);
    } finally {
      await broken.close();
    }
    await assert.rejects(broken.detach(dir), /closed/);
  });
});
