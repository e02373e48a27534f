import { chmodSync, chownSync, cpSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CountersignError } from '../errors/index.ts';
import type { Mounts } from './mounter.ts';

/**
 * The disk budget of a step (issue 11, section 3): the work directory and /tmp together may hold
 * at most `limits.diskMB` while the step runs, and nothing a step writes reaches the host's disk.
 *
 * How: the first step of a work directory mounts a size-limited tmpfs on the host (the executor
 * is root), copies whatever the directory already held into it, and bind-mounts its `work`
 * folder over the work directory, so the executor and later steps see the same path. Each step
 * gets a fresh folder of the same tmpfs as its /tmp, so one limit covers both places. A write
 * past the limit gets ENOSPC; the runner sees the filesystem full afterwards and fails the step
 * with that reason. A per-file RLIMIT_FSIZE alone left the total open (nine files under the
 * limit wrote 577 MB to the host's root filesystem in seconds).
 *
 * The pages are memory (swap if the host has it), not disk; where cgroups apply they count in
 * the step's memory limit, like any tmpfs the step writes to.
 *
 * No way to enforce the budget (not root, mount refused) means the step is refused: there is
 * no fallback to the host's disk.
 */

const TMPFS_MAGIC = 0x01021994;
const MB = 1024 * 1024;
/**
 * Tags our mounts in mountinfo with the executor's pid namespace and pid, so a crashed
 * executor's are found, and a live executor in another pid namespace that shares this mount
 * namespace is never mistaken for a dead one.
 */
const SOURCE_PREFIX = 'countersign-disk-';

function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
  } catch {
    return '0';
  }
}

function sourceTag(pid: number): string {
  return `${SOURCE_PREFIX}${pidNamespace()}-${pid}`;
}
/** One inode per 4 KiB of budget (at least 1024), so empty files cannot exhaust kernel memory. */
function inodesFor(bytes: number): number {
  return Math.max(1024, Math.floor(bytes / 4096));
}

function refuse(message: string, cause?: unknown): CountersignError {
  return new CountersignError('SANDBOX_UNAVAILABLE', message, cause === undefined ? undefined : { cause });
}

function megabytes(bytes: number): string {
  return `${Math.round((bytes / MB) * 10) / 10} MB`;
}

export interface StepDisk {
  /** Host folder bound as the step's /tmp, inside the budget's tmpfs. */
  readonly tmpDir: string;
  /**
   * After the step: removes its /tmp and says whether the budget was reached (no block or no
   * inode left), which is what a write past it meets.
   */
  finish(): { exceeded: boolean };
}

interface MountedDisk {
  /** The tmpfs mount point, in the runner's private directory. */
  readonly dir: string;
  sizeBytes: number;
}

/** tmpfs mounts in this mount namespace tagged by an executor of this pid namespace: [mount point, pid]. */
function taggedMounts(): Array<[string, number]> {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out: Array<[string, number]> = [];
  for (const line of text.split('\n')) {
    const [before, after] = line.split(' - ');
    const point = before?.split(' ')[4];
    const [fstype, source] = (after ?? '').split(' ');
    const ours = `${SOURCE_PREFIX}${pidNamespace()}-`;
    if (point === undefined || fstype !== 'tmpfs' || !source?.startsWith(ours)) continue;
    const pid = Number(source.slice(ours.length));
    if (Number.isInteger(pid) && pid > 0) {
      out.push([point.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8))), pid]);
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The size-limited tmpfs of each work directory this runner has run a step in. */
export class WorkDisks {
  readonly #parent: string;
  readonly #mounts: Mounts;
  /** Work directory -> its disk; a promise so two steps of one directory never mount twice. */
  readonly #disks = new Map<string, Promise<MountedDisk>>();
  #count = 0;
  #steps = 0;

  constructor(parent: string, mounts: Mounts) {
    this.#parent = parent;
    this.#mounts = mounts;
  }

  /**
   * Detaches the disks of executors that no longer run (a crash skips dispose), so their memory
   * is freed and their private directories can be removed. Run before those directories are swept.
   */
  static async sweepStale(mounts: Mounts): Promise<void> {
    const stale = taggedMounts()
      .filter(([, pid]) => pid !== process.pid && !alive(pid))
      .map(([point]) => point)
      .sort((a, b) => b.length - a.length);
    for (const point of stale) await mounts.detach(point).catch(() => undefined);
  }

  /**
   * Makes the work directory a tmpfs of `budgetBytes` (mounting it on first use, resizing it
   * later) and a fresh /tmp folder in it for one step, owned by the step's host user.
   */
  async prepare(workDir: string, budgetBytes: number, owner: { uid: number; gid: number } | null): Promise<StepDisk> {
    if (process.getuid?.() !== 0) {
      throw refuse('the disk budget cannot be enforced: the executor must run as root to mount a size-limited work directory');
    }
    let pending = this.#disks.get(workDir);
    if (pending === undefined) {
      pending = this.#mountDisk(workDir, budgetBytes);
      this.#disks.set(workDir, pending);
      pending.catch(() => this.#disks.delete(workDir));
    }
    const disk = await pending;
    this.#assertMounted(workDir);
    const used = this.#used(workDir);
    if (used > budgetBytes) {
      throw refuse(`the work directory already holds ${megabytes(used)}, more than this step's disk budget of ${megabytes(budgetBytes)}`);
    }
    if (disk.sizeBytes !== budgetBytes) {
      await this.#mounts.resize(disk.dir, `size=${budgetBytes},nr_inodes=${inodesFor(budgetBytes)}`).catch((err) => {
        throw refuse('the disk budget of the work directory could not be changed, so the step did not run', err);
      });
      disk.sizeBytes = budgetBytes;
    }
    this.#steps += 1;
    const tmpDir = join(disk.dir, `tmp-${this.#steps}`);
    mkdirSync(tmpDir, { mode: 0o700 });
    if (owner) chownSync(tmpDir, owner.uid, owner.gid);
    return {
      tmpDir,
      finish: () => {
        let exceeded = false;
        try {
          const s = statfsSync(workDir);
          exceeded = s.bfree === 0 || s.ffree === 0;
        } finally {
          rmSync(tmpDir, { recursive: true, force: true });
        }
        return { exceeded };
      },
    };
  }

  /** Unmounts a work directory's disk: its content is gone. Call when its execution ends. */
  async release(workDir: string): Promise<void> {
    const pending = this.#disks.get(workDir);
    if (pending === undefined) return;
    this.#disks.delete(workDir);
    const disk = await pending.catch(() => null);
    if (disk === null) return;
    // Lazy: a process still inside (none should be) cannot keep the mount, only its own view.
    await this.#mounts.detach(workDir).catch(() => undefined);
    await this.#mounts.detach(disk.dir).catch(() => undefined);
    try {
      rmdirSync(disk.dir);
    } catch {
      // Removed with the runner's private directory at the latest.
    }
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.#disks.keys()].map((w) => this.release(w)));
  }

  /** Releases every disk, then ends the mount helper. */
  async close(): Promise<void> {
    await this.releaseAll();
    await this.#mounts.close();
  }

  #used(workDir: string): number {
    const s = statfsSync(workDir);
    return (s.blocks - s.bfree) * s.bsize;
  }

  /** The bind must still be there: a directory that lost it would write to the host's disk. */
  #assertMounted(workDir: string): void {
    if (statfsSync(workDir).type !== TMPFS_MAGIC) {
      throw refuse('the work directory is no longer on its size-limited disk, so the step did not run');
    }
  }

  async #mountDisk(workDir: string, budgetBytes: number): Promise<MountedDisk> {
    this.#count += 1;
    const dir = join(this.#parent, `disk-${this.#count}`);
    mkdirSync(dir, { mode: 0o700 });
    let mounted = false;
    let bound = false;
    try {
      await this.#mounts.tmpfs(sourceTag(process.pid), dir, `size=${budgetBytes},nr_inodes=${inodesFor(budgetBytes)},mode=0711`);
      mounted = true;
      const work = join(dir, 'work');
      mkdirSync(work);
      chmodSync(work, statSync(workDir).mode & 0o7777);
      try {
        // Links are copied as links (never followed); a FIFO or socket refuses the step.
        cpSync(workDir, work, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true, errorOnExist: true, force: false });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
          throw refuse(`the work directory already holds more than this step's disk budget of ${megabytes(budgetBytes)}`, err);
        }
        throw refuse('the work directory holds a file that cannot be moved to its size-limited disk', err);
      }
      await this.#mounts.bind(work, workDir);
      bound = true;
      this.#assertMounted(workDir);
      // The originals stay below the bind, unreachable, until the execution's directory is removed.
      return { dir, sizeBytes: budgetBytes };
    } catch (err) {
      if (bound) await this.#mounts.detach(workDir).catch(() => undefined);
      if (mounted) await this.#mounts.detach(dir).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      if (err instanceof CountersignError) throw err;
      throw refuse('the disk budget of the work directory could not be set up, so the step did not run', err);
    }
  }
}
