import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseMountinfo, parseProcCgroup, probeCgroups } from './cgroup-probe.ts';
import { CgroupV2Driver } from './cgroups.ts';

describe('cgroup parsing', () => {
  it('reads cgroup mounts from mountinfo and our own paths from /proc/self/cgroup', () => {
    const mounts = parseMountinfo(
      [
        '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
        '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
      ].join('\n'),
    );
    assert.deepEqual(
      mounts.map((m) => [m.point, m.type, m.superOptions.includes('memory')]),
      [
        ['/sys/fs/cgroup/memory', 'cgroup', true],
        ['/sys/fs/cgroup/unified', 'cgroup2', false],
      ],
    );
    assert.deepEqual(parseProcCgroup('4:memory:/a/b\n0::/c\n'), [
      { controllers: ['memory'], path: '/a/b' },
      { controllers: [], path: '/c' },
    ]);
  });
});

describe('CgroupV2Driver', () => {
  it('writes memory.max, swap 0 and pids.max, then adds processes to cgroup.procs', async () => {
    // A directory standing in for a delegated v2 parent: checks what the driver writes.
    const parent = mkdtempSync(join(tmpdir(), 'countersign-cgv2-test-'));
    try {
      const driver = new CgroupV2Driver(parent);
      const cg = await driver.create({ memoryBytes: 128 * 1024 * 1024, pids: 17 });
      await cg.add(4242);
      const entries = readdirSync(parent);
      assert.equal(entries.length, 1);
      const dir = entries[0] ?? '';
      assert.equal(readFileSync(join(parent, dir, 'memory.max'), 'utf8'), String(128 * 1024 * 1024));
      assert.equal(readFileSync(join(parent, dir, 'pids.max'), 'utf8'), '17');
      assert.equal(readFileSync(join(parent, dir, 'cgroup.procs'), 'utf8'), '4242');
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});

describe('probeCgroups on this host', () => {
  it('either finds a usable driver or says why not', async () => {
    const probe = await probeCgroups();
    if (probe.driver === null) {
      assert.ok(probe.detail.length > 0);
      return;
    }
    // Where a driver exists, a step cgroup really is created with its limits, then removed.
    const cg = await probe.driver.create({ memoryBytes: 64 * 1024 * 1024, pids: 8 });
    assert.equal(await cg.remove(), true);
  });
});
