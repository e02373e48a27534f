import type { Limits } from '../tools/index.ts';

/**
 * bubblewrap's own process counted by RLIMIT_NPROC besides the tool's: the outer bwrap (the tool
 * runs as pid 1 with `--as-pid-1`). Added so `limits.processes` counts the tool's processes,
 * itself included (measured here: with --nproc=5 a tool could fork 3 times).
 */
export const BWRAP_PROCESS_OVERHEAD = 1;
/**
 * The in-sandbox egress forwarder (socat): its listener is added; the process it forks per open
 * connection counts in the tool's own budget.
 */
export const EGRESS_PROCESS_OVERHEAD = 1;

const MB = 1024 * 1024;

/**
 * `prlimit` arguments for a step. Each limit sets soft = hard, so the tool cannot raise it again.
 * RLIMIT_NPROC is only enforced for a non-root uid and is counted per host uid, which is why
 * bubblewrap runs as an unprivileged uid of its own per work directory (see host-users.ts).
 * Core dumps are off so a crashing tool never writes its memory — secrets included — into the
 * work directory.
 */
export function prlimitArgs(limits: Limits, extraProcesses: number): string[] {
  const processes = limits.processes + BWRAP_PROCESS_OVERHEAD + extraProcesses;
  return [
    `--cpu=${limits.cpuSeconds}`,
    `--as=${limits.memoryMB * MB}`,
    `--fsize=${limits.fileSizeMB * MB}`,
    `--nproc=${processes}`,
    `--nofile=${limits.openFiles}`,
    '--core=0',
    '--',
  ];
}

/**
 * Size cap of the sandbox's private /dev/shm, which RLIMIT_AS does not count. (/tmp and the work
 * directory share the step's disk budget instead: see work-disk.ts.)
 */
export function shmBytes(limits: Limits): number {
  return Math.min(64, limits.memoryMB) * MB;
}

/** The step's disk budget in bytes: what its work directory and /tmp may hold together. */
export function diskBytes(limits: Limits): number {
  return limits.diskMB * MB;
}
