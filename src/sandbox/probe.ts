import { CountersignError } from '../errors/index.ts';
import type { Limits } from '../tools/index.ts';
import { firstLine } from './messages.ts';

/** The runner's start-up probe: a step as small as a step can be, set up like every other. */
export const PROBE_LIMITS: Limits = {
  cpuSeconds: 5,
  memoryMB: 256,
  fileSizeMB: 1,
  processes: 4,
  openFiles: 64,
  wallSeconds: 10,
  outputKB: 4,
  diskMB: 1,
};

/**
 * Succeeds only if the seccomp filter is in force inside (mode 2, filter; exits 3 otherwise) and
 * the step's rlimits are (its open-files limit, soft and hard, is PROBE_LIMITS'; exits 4 otherwise).
 */
export const PROBE_SCRIPT = [
  `[ "$(ulimit -Sn)" = ${PROBE_LIMITS.openFiles} ] && [ "$(ulimit -Hn)" = ${PROBE_LIMITS.openFiles} ] || exit 4`,
  'while read -r k v; do [ "$k" = Seccomp: ] && [ "$v" = 2 ] && exit 0; done </proc/self/status; exit 3',
].join('; ');
export const PROBE_SHELL = '/bin/sh';

/** No runner unless the probe ran and saw its filter and its rlimits: a sandbox without them must not run steps. */
export function assertProbePassed(exitCode: number | null, stderr: string): void {
  if (exitCode === 3) {
    throw new CountersignError('SANDBOX_UNAVAILABLE', 'bubblewrap did not put the seccomp filter in force, so no step may run');
  }
  if (exitCode === 4) {
    throw new CountersignError('SANDBOX_UNAVAILABLE', 'the probe step did not get its rlimits, so no step may run');
  }
  if (exitCode !== 0) {
    throw new CountersignError(
      'SANDBOX_UNAVAILABLE',
      `bubblewrap cannot create a sandbox on this host (${firstLine(stderr)}); check that user namespaces are enabled`,
    );
  }
}
