import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { cgroupCpuQuota, usableCpus } from './cpus.ts';

/** A file system of these files only. */
const files =
  (map: Record<string, string>) =>
  (path: string): string | null =>
    map[path] ?? null;

test('cgroup v2: the tightest cpu.max over the cgroup and its ancestors', () => {
  const self = '0::/kubepods/pod1/ctr\n';
  assert.equal(cgroupCpuQuota(files({ '/proc/self/cgroup': self, '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '200000 100000\n' })), 2);
  assert.equal(
    cgroupCpuQuota(
      files({
        '/proc/self/cgroup': self,
        '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': 'max 100000\n',
        '/sys/fs/cgroup/kubepods/pod1/cpu.max': '150000 100000\n',
        '/sys/fs/cgroup/cpu.max': '400000 100000\n',
      }),
    ),
    1.5,
  );
  // No quota anywhere, and a container whose own cgroup is its namespace's root.
  assert.equal(cgroupCpuQuota(files({ '/proc/self/cgroup': self, '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': 'max 100000' })), null);
  assert.equal(cgroupCpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '50000 100000' })), 0.5);
});

test('cgroup v1: cfs quota and period, -1 for none, on a separate or a combined mount', () => {
  const v1 = (controllers: string, path: string) => `12:pids:/\n4:${controllers}:${path}\n1:name=systemd:/\n`;
  assert.equal(
    cgroupCpuQuota(
      files({
        '/proc/self/cgroup': v1('cpu,cpuacct', '/docker/abc'),
        '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '300000\n',
        '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
      }),
    ),
    3,
  );
  // The container sees its own cgroup at the mount's root, not at the host's path.
  assert.equal(
    cgroupCpuQuota(
      files({
        '/proc/self/cgroup': v1('cpu', '/docker/abc'),
        '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '100000',
        '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000',
      }),
    ),
    1,
  );
  assert.equal(
    cgroupCpuQuota(
      files({
        '/proc/self/cgroup': v1('cpu', '/'),
        '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1',
        '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000',
      }),
    ),
    null,
  );
});

test('nothing readable, or nothing that parses, is no quota', () => {
  assert.equal(cgroupCpuQuota(files({})), null);
  assert.equal(cgroupCpuQuota(files({ '/proc/self/cgroup': 'garbage\n0::relative\n' })), null);
  assert.equal(cgroupCpuQuota(files({ '/proc/self/cgroup': '0::/', '/sys/fs/cgroup/cpu.max': 'lots of cpu' })), null);
  assert.equal(cgroupCpuQuota(files({ '/proc/self/cgroup': '0::/', '/sys/fs/cgroup/cpu.max': '0 100000' })), null);
});

test('usable CPUs: the cores, capped by the quota rounded up, never below one', () => {
  const quota = (max: string) => files({ '/proc/self/cgroup': '0::/', '/sys/fs/cgroup/cpu.max': max });
  assert.equal(usableCpus(quota('150000 100000'), 64), 2);
  assert.equal(usableCpus(quota('800000 100000'), 4), 4);
  assert.equal(usableCpus(quota('10000 100000'), 4), 1);
  assert.equal(usableCpus(quota('max 100000'), 6), 6);
  // This machine, read for real: a number between 1 and its cores.
  const here = usableCpus();
  assert.ok(here >= 1 && here <= availableParallelism(), String(here));
});
