// How many CPUs this process can use: the cores it may run on, capped by a cgroup CPU quota (a
// container limited to 2 CPUs on a 64-core host has 2 to spend, which os.availableParallelism()
// does not say: it counts the cores of the affinity mask, not the quota).
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Reads a file's text, or null when it cannot be read (absent, not a cgroup host). */
export type ReadText = (path: string) => string | null;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/** `/a/b` → `/a/b`, `/a`, `/`: a quota anywhere above the process limits it too. */
function selfAndAncestors(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  return Array.from({ length: parts.length + 1 }, (_, i) => `/${parts.slice(0, parts.length - i).join('/')}`);
}

const join = (root: string, dir: string) => (dir === '/' ? root : `${root}${dir}`);

/** CPUs a quota of `quota` µs per `period` µs amounts to, or null for no quota. */
function cpusOf(quota: number, period: number): number | null {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return null;
  return quota / period;
}

/**
 * The tightest CPU quota over the process's cgroup and its ancestors, in CPUs (fractional), or
 * null when there is none. cgroup v2 (`cpu.max`: "max 100000" or "200000 100000") and v1
 * (`cpu.cfs_quota_us`, -1 for none, and `cpu.cfs_period_us`) as mounted under /sys/fs/cgroup.
 * A cgroup directory that is not visible here (a container without its own cgroup namespace
 * sees the host's path) is skipped: its ancestors, down to the mount's root, are still read.
 */
export function cgroupCpuQuota(read: ReadText = readText): number | null {
  const self = read('/proc/self/cgroup');
  if (self === null) return null;
  let tightest: number | null = null;
  const consider = (cpus: number | null) => {
    if (cpus !== null && (tightest === null || cpus < tightest)) tightest = cpus;
  };
  for (const line of self.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1).trim();
    if (!path.startsWith('/')) continue;
    if (line.slice(0, first) === '0' && controllers === '') {
      for (const dir of selfAndAncestors(path)) {
        const max = read(`${join('/sys/fs/cgroup', dir)}/cpu.max`)
          ?.trim()
          .split(/\s+/);
        if (max && max.length === 2 && max[0] !== 'max') consider(cpusOf(Number(max[0]), Number(max[1])));
      }
    } else if (controllers.split(',').includes('cpu')) {
      for (const mount of ['/sys/fs/cgroup/cpu', `/sys/fs/cgroup/${controllers}`]) {
        for (const dir of selfAndAncestors(path)) {
          const quota = read(`${join(mount, dir)}/cpu.cfs_quota_us`);
          const period = read(`${join(mount, dir)}/cpu.cfs_period_us`);
          if (quota !== null && period !== null) consider(cpusOf(Number(quota.trim()), Number(period.trim())));
        }
      }
    }
  }
  return tightest;
}

/**
 * Threads worth starting for CPU-bound work: the cores this process may run on, no more than its
 * cgroup CPU quota rounded up (1.5 CPUs: 2), and at least 1.
 */
export function usableCpus(read: ReadText = readText, cores: number = availableParallelism()): number {
  const quota = cgroupCpuQuota(read);
  return Math.max(1, quota === null ? cores : Math.min(cores, Math.ceil(quota)));
}
