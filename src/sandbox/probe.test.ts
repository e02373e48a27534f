import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { assertProbePassed, PROBE_LIMITS, PROBE_SCRIPT, PROBE_SHELL } from './probe.ts';

/** The probe script run outside any sandbox, under `prefix` (e.g. prlimit), as /bin/sh runs it. */
function probe(prefix: string[]): { status: number | null; stderr: string } {
  const [cmd, ...args] = [...prefix, PROBE_SHELL, '-c', PROBE_SCRIPT];
  const r = spawnSync(cmd as string, args, { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

test('the start-up probe refuses a sandbox whose rlimits are not in force, then one without the seccomp filter', () => {
  // No limits (the host's own): refused before the filter is even looked at.
  const bare = probe([]);
  assert.equal(bare.status, 4);
  assert.throws(() => assertProbePassed(bare.status, bare.stderr), /did not get its rlimits/);
  // Only the soft limit lowered: refused too (the tool could raise it again).
  const softOnly = probe(['prlimit', `--nofile=${PROBE_LIMITS.openFiles}:`]);
  assert.equal(softOnly.status, 4);
  // The limits in force, but this shell has no seccomp filter: refused for that.
  const limited = probe(['prlimit', `--nofile=${PROBE_LIMITS.openFiles}`]);
  assert.equal(limited.status, 3);
  assert.throws(() => assertProbePassed(limited.status, limited.stderr), /seccomp filter/);
});
