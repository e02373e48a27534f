/**
 * The step's cgroups are made after bubblewrap is spawned and joined before the tool starts
 * (src/sandbox/bwrap-launch.ts). If either cannot be done the step is refused and the tool never
 * runs: it writes a marker file first thing, and the marker must not appear.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CgroupDriver, probeCgroups } from '../../src/sandbox/index.ts';
import { profile, SandboxHarness } from './harness.ts';

let real: CgroupDriver | null = null;
let failure: 'none' | 'create' | 'join' = 'none';
let h: SandboxHarness | undefined;

/** The host's real cgroup driver, made to fail on demand once the runner's start-up probe passed. */
function failing(driver: CgroupDriver): CgroupDriver {
  return {
    version: driver.version,
    description: driver.description,
    sweepStale: () => driver.sweepStale(),
    create: async (limits) => {
      if (failure === 'create') throw new Error('cgroup hierarchy is full');
      const created = await driver.create(limits);
      if (failure !== 'join') return created;
      return {
        add: async () => {
          throw new Error('cgroup.procs refused the process');
        },
        remove: () => created.remove(),
      };
    },
  };
}

before(async () => {
  real = (await probeCgroups()).driver;
  if (real !== null) h = await SandboxHarness.create({ cgroups: failing(real) });
});
after(() => h?.dispose());

describe('a step whose cgroups cannot be applied', () => {
  for (const mode of ['create', 'join'] as const) {
    it(`is refused and never runs when the cgroup cannot be ${mode === 'create' ? 'made' : 'joined'}`, async (t) => {
      if (!h) return t.skip('no writable cgroup controller on this host');
      const workDir = h.workDir();
      failure = mode;
      try {
        await assert.rejects(h.sh('echo ran > marker', profile(), { workDir }), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'SANDBOX_UNAVAILABLE');
          assert.match(err.message, /cgroups/);
          return true;
        });
      } finally {
        failure = 'none';
      }
      assert.equal(existsSync(join(workDir, 'marker')), false, 'the tool ran without its cgroups');
      // The runner goes on: the next step, with its cgroups, runs.
      const next = await h.sh('echo ran > marker', profile(), { workDir });
      assert.equal(next.exitCode, 0, next.stderr);
      assert.equal(existsSync(join(workDir, 'marker')), true);
    });
  }
});
