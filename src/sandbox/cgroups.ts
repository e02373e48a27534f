import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Per-step memory and process limits through cgroups, where the host lets the executor manage
 * them. One interface, two implementations: v1 (separate memory and pids hierarchies, as on
 * these machines) and v2 (one unified hierarchy, as on most production hosts). A step's cgroup
 * is a child of the executor's own, so every limit above the executor still applies to steps.
 *
 * rlimits (prlimit) always apply; cgroups add a whole-sandbox memory ceiling (tmpfs and page
 * cache included) and a hard pids count. When no driver is usable the runner reports so through
 * `cgroupVersion` and `checkSandboxHost` — it never claims a limit it did not apply.
 */

export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
}

export interface StepCgroup {
  /** Moves a process (by host pid) into the step's cgroup(s). */
  add(pid: number): Promise<void>;
  /** Removes the cgroup(s) once the step's processes are gone; false if the kernel still holds them. */
  remove(): Promise<boolean>;
}

export interface CgroupDriver {
  readonly version: 'v1' | 'v2';
  readonly description: string;
  create(limits: CgroupLimits): Promise<StepCgroup>;
  /** Removes empty step cgroups left by executor processes that no longer exist (crashes). */
  sweepStale(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Step cgroups under `parent` named by a process that is gone; rmdir only removes empty ones. */
async function sweepParent(parent: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return;
  }
  const stale = names.filter((name) => {
    const pid = /^countersign-step-(\d+)-/.exec(name)?.[1];
    return pid !== undefined && !processAlive(Number(pid));
  });
  await removeDirs(
    stale.map((name) => join(parent, name)),
    1,
  );
}

/**
 * Step cgroup names (unique per driver instance, and per executor process through the pid),
 * and the directories the kernel still held when their step ended, retried on the next step so
 * they never pile up.
 */
class StepCgroups {
  #sequence = 0;
  readonly #prefix = `countersign-step-${process.pid}-${randomUUID().slice(0, 8)}`;
  #leftovers: string[] = [];

  next(): string {
    this.#sequence += 1;
    return `${this.#prefix}-${this.#sequence}`;
  }

  async remove(dirs: readonly string[]): Promise<boolean> {
    const kept = await removeDirs(dirs);
    // Bounded: each entry is one directory of a finished step, retried on every later step.
    if (this.#leftovers.length < 1024) this.#leftovers.push(...kept);
    return kept.length === 0;
  }

  async sweep(): Promise<void> {
    if (this.#leftovers.length === 0) return;
    const retry = this.#leftovers;
    this.#leftovers = [];
    this.#leftovers.push(...(await removeDirs(retry, 1)));
  }
}

/** Removes cgroup directories; returns those that could not be removed yet. */
export async function removeDirs(dirs: readonly string[], attempts = 20): Promise<string[]> {
  const kept: string[] = [];
  for (const dir of dirs) {
    // The last processes of a pid namespace are reaped asynchronously; a few retries cover it.
    let removed = false;
    for (let attempt = 0; attempt < attempts && !removed; attempt++) {
      try {
        await rmdir(dir);
        removed = true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') removed = true;
        else if (code === 'EBUSY' && attempt + 1 < attempts) await new Promise((r) => setTimeout(r, 5));
        else break;
      }
    }
    if (!removed) kept.push(dir);
  }
  return kept;
}

function writeOptional(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export class CgroupV1Driver implements CgroupDriver {
  readonly version = 'v1';
  readonly description: string;
  readonly #memoryParent: string;
  readonly #pidsParent: string;
  readonly #steps = new StepCgroups();

  constructor(memoryParent: string, pidsParent: string) {
    this.#memoryParent = memoryParent;
    this.#pidsParent = pidsParent;
    this.description = `v1: memory under ${memoryParent}, pids under ${pidsParent}`;
  }

  async sweepStale(): Promise<void> {
    await sweepParent(this.#memoryParent);
    await sweepParent(this.#pidsParent);
  }

  async create(limits: CgroupLimits): Promise<StepCgroup> {
    await this.#steps.sweep();
    const name = this.#steps.next();
    const memory = join(this.#memoryParent, name);
    const pids = join(this.#pidsParent, name);
    const created: string[] = [];
    // Synchronous: a handful of cgroupfs calls, made while bubblewrap starts in its child, cost
    // less than a thread-pool round trip each through a busy event loop.
    try {
      mkdirSync(memory);
      created.push(memory);
      writeFileSync(join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      // Memory + swap to the same figure: a step cannot page its way past the limit.
      writeOptional(join(memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
      mkdirSync(pids);
      created.push(pids);
      writeFileSync(join(pids, 'pids.max'), String(limits.pids));
    } catch (err) {
      await this.#steps.remove(created.reverse());
      throw err;
    }
    return {
      // Synchronous: two tiny cgroupfs writes on the step's start path, cheaper than thread-pool hops.
      add: async (pid) => {
        writeFileSync(join(memory, 'cgroup.procs'), String(pid));
        writeFileSync(join(pids, 'cgroup.procs'), String(pid));
      },
      remove: () => this.#steps.remove([memory, pids]),
    };
  }
}

export class CgroupV2Driver implements CgroupDriver {
  readonly version = 'v2';
  readonly description: string;
  readonly #parent: string;
  readonly #steps = new StepCgroups();

  constructor(parent: string) {
    this.#parent = parent;
    this.description = `v2: memory and pids under ${parent}`;
  }

  sweepStale(): Promise<void> {
    return sweepParent(this.#parent);
  }

  async create(limits: CgroupLimits): Promise<StepCgroup> {
    await this.#steps.sweep();
    const dir = join(this.#parent, this.#steps.next());
    mkdirSync(dir);
    try {
      writeFileSync(join(dir, 'memory.max'), String(limits.memoryBytes));
      writeOptional(join(dir, 'memory.swap.max'), '0');
      writeFileSync(join(dir, 'pids.max'), String(limits.pids));
    } catch (err) {
      await this.#steps.remove([dir]);
      throw err;
    }
    return {
      add: async (pid) => writeFileSync(join(dir, 'cgroup.procs'), String(pid)),
      remove: () => this.#steps.remove([dir]),
    };
  }
}
