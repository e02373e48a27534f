import { randomUUID } from 'node:crypto';
import { access, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CgroupDriver, CgroupV1Driver, CgroupV2Driver, removeDirs } from './cgroups.ts';

/**
 * Finding a usable cgroup driver on this host: what is mounted, where this process sits in it,
 * and whether a child cgroup with the needed controls can really be created (a probe cgroup is
 * made and removed — never inferred from configuration).
 */

interface Mount {
  root: string;
  point: string;
  type: string;
  superOptions: string[];
}

export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const r = right.split(' ');
    if (f[3] === undefined || f[4] === undefined || r[0] === undefined) continue;
    mounts.push({ root: f[3], point: f[4], type: r[0], superOptions: (r[2] ?? '').split(',') });
  }
  return mounts;
}

/** `/proc/self/cgroup`: controller list (empty for v2) -> path. */
export function parseProcCgroup(text: string): Array<{ controllers: string[]; path: string }> {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [, controllers = '', ...path] = line.split(':');
      return { controllers: controllers === '' ? [] : controllers.split(','), path: path.join(':') };
    });
}

function hostDir(mount: Mount, ownPath: string): string | null {
  const root = mount.root === '/' ? '' : mount.root;
  if (root !== '' && ownPath !== root && !ownPath.startsWith(`${root}/`)) return null;
  return join(mount.point, ownPath.slice(root.length));
}

async function probeWritable(parent: string, files: readonly string[]): Promise<string | null> {
  const dir = join(parent, `countersign-probe-${process.pid}-${randomUUID().slice(0, 8)}`);
  try {
    await mkdir(dir);
  } catch (err) {
    return `cannot create a child cgroup in ${parent} (${(err as NodeJS.ErrnoException).code})`;
  }
  try {
    for (const file of files) {
      try {
        await access(join(dir, file));
      } catch {
        return `${file} is not available in ${parent}`;
      }
    }
    return null;
  } finally {
    await removeDirs([dir]);
  }
}

export interface CgroupProbe {
  driver: CgroupDriver | null;
  /** What the host mounts, whether or not it is usable. */
  mounted: 'v1' | 'v2' | 'hybrid' | 'none';
  detail: string;
}

/** Finds a usable driver: v1 memory + pids hierarchies, else a v2 parent with both controllers. */
export async function probeCgroups(options: { v2Parent?: string } = {}): Promise<CgroupProbe> {
  let mounts: Mount[];
  let own: Array<{ controllers: string[]; path: string }>;
  try {
    mounts = parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
    own = parseProcCgroup(await readFile('/proc/self/cgroup', 'utf8'));
  } catch (err) {
    return { driver: null, mounted: 'none', detail: `cannot read /proc (${(err as NodeJS.ErrnoException).code})` };
  }
  const v1 = (c: string) => mounts.find((m) => m.type === 'cgroup' && m.superOptions.includes(c));
  const v2 = mounts.find((m) => m.type === 'cgroup2');
  const mounted = v1('memory') || v1('pids') ? (v2 ? 'hybrid' : 'v1') : v2 ? 'v2' : 'none';
  const reasons: string[] = [];

  const memMount = v1('memory');
  const pidsMount = v1('pids');
  if (memMount && pidsMount) {
    const memOwn = own.find((o) => o.controllers.includes('memory'));
    const pidsOwn = own.find((o) => o.controllers.includes('pids'));
    const memDir = memOwn ? hostDir(memMount, memOwn.path) : null;
    const pidsDir = pidsOwn ? hostDir(pidsMount, pidsOwn.path) : null;
    if (memDir && pidsDir) {
      const memProblem = await probeWritable(memDir, ['memory.limit_in_bytes', 'cgroup.procs']);
      const pidsProblem = memProblem ?? (await probeWritable(pidsDir, ['pids.max', 'cgroup.procs']));
      if (pidsProblem === null) {
        const driver = new CgroupV1Driver(memDir, pidsDir);
        return { driver, mounted, detail: driver.description };
      }
      reasons.push(`v1: ${pidsProblem}`);
    } else {
      reasons.push('v1: this process is outside the mounted memory/pids hierarchies');
    }
  }
  if (v2) {
    const ownV2 = own.find((o) => o.controllers.length === 0);
    const parent = options.v2Parent ?? (ownV2 ? hostDir(v2, ownV2.path) : null);
    if (parent) {
      const enabled = (await readFile(join(parent, 'cgroup.subtree_control'), 'utf8').catch(() => '')).split(/\s+/);
      if (enabled.includes('memory') && enabled.includes('pids')) {
        const problem = await probeWritable(parent, ['memory.max', 'pids.max', 'cgroup.procs']);
        if (problem === null) {
          const driver = new CgroupV2Driver(parent);
          return { driver, mounted, detail: driver.description };
        }
        reasons.push(`v2: ${problem}`);
      } else {
        reasons.push(
          `v2: memory and pids are not enabled in ${parent}/cgroup.subtree_control (delegate a cgroup to the executor, e.g. systemd Delegate=yes, and run it in a leaf of it)`,
        );
      }
    } else {
      reasons.push('v2: this process is outside the mounted hierarchy');
    }
  }
  if (mounted === 'none') reasons.push('no cgroup hierarchy is mounted');
  return { driver: null, mounted, detail: reasons.join('; ') };
}
