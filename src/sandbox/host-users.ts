/**
 * Unprivileged host uids for bubblewrap, one per work directory.
 *
 * Why not one uid for every step: the kernel counts RLIMIT_NPROC per host uid across all of its
 * user namespaces, so steps sharing a uid share one process budget — measured here, 12
 * concurrent sandboxes of one uid under `--nproc=10` failed with EAGAIN, and 50 concurrent steps
 * could not start. A uid per work directory gives each concurrent step its own budget and keeps
 * them from signalling or reading each other's /proc entries as well.
 *
 * Why per work directory and not per step: the steps of one execution share its work directory
 * and must be able to write what earlier steps wrote. The uid is derived from the directory's
 * path (stable across executor restarts) and probed linearly past uids held by other running
 * steps, so two concurrent steps never share one.
 */

export interface HostUserRange {
  /** First uid (and gid) of the range; none of them may belong to an account. */
  readonly first: number;
  readonly count: number;
}

/**
 * Above systemd's container uid ranges (524288–1879048191) and below 2^31; no passwd entry
 * needed. Inside the sandbox every step is uid 65534 whatever its host uid.
 */
export const DEFAULT_HOST_USERS: HostUserRange = { first: 2_000_000_000, count: 65_536 };

export interface HostUserLease {
  readonly uid: number;
  readonly gid: number;
  release(): void;
}

/** FNV-1a: a stable, well-spread slot for a path; not a security boundary. */
function slotOf(text: string, size: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % size;
}

export class HostUserPool {
  readonly #range: HostUserRange;
  /** uid -> the work directory holding it and how many of its steps are running. */
  readonly #active = new Map<number, { workDir: string; refs: number }>();

  constructor(range: HostUserRange = DEFAULT_HOST_USERS) {
    if (!Number.isInteger(range.first) || !Number.isInteger(range.count) || range.first < 1 || range.count < 1) {
      throw new RangeError('host uid range must be positive integers');
    }
    if (range.first + range.count - 1 > 2 ** 31 - 2) throw new RangeError('host uid range must stay below 2^31 - 1');
    this.#range = range;
  }

  lease(workDir: string): HostUserLease {
    const start = slotOf(workDir, this.#range.count);
    for (let k = 0; k < this.#range.count; k++) {
      const uid = this.#range.first + ((start + k) % this.#range.count);
      const holder = this.#active.get(uid);
      if (holder !== undefined && holder.workDir !== workDir) continue;
      if (holder) holder.refs += 1;
      else this.#active.set(uid, { workDir, refs: 1 });
      let released = false;
      return {
        uid,
        gid: uid,
        release: () => {
          if (released) return;
          released = true;
          const entry = this.#active.get(uid);
          if (entry === undefined) return;
          entry.refs -= 1;
          if (entry.refs === 0) this.#active.delete(uid);
        },
      };
    }
    throw new RangeError(`all ${this.#range.count} host uids are in use by running steps`);
  }
}
