/**
 * Issue 11, section 3: a step may not fill the host's disk. Nine files under the per-file limit
 * once wrote 577 MB to the host's root filesystem; now the work directory and /tmp share one
 * size-limited disk per step and nothing reaches the host's.
 */
import assert from 'node:assert/strict';
import { readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultWorkRoot, type RunningExecutor, startExecutor } from '../../src/executor/executor.ts';
import { profile, SandboxHarness, sha256Of } from '../sandbox/harness.ts';
import { ENGINES } from '../support/engines.ts';
import { removeWorkRoot, waitForExecution } from '../support/execution.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { signManifestFile } from '../support/tools.ts';

let h: SandboxHarness;
before(async () => {
  h = await SandboxHarness.create();
});
after(() => h.dispose());

const MB = 1024 * 1024;
/** Free bytes of the host filesystem the work directories live on (as root sees it). */
const hostFree = (): number => {
  const s = statfsSync(h.base);
  return s.bfree * s.bsize;
};

/** Writes `count` files of `sizeMB` each to `dir`, alternating with /tmp when `dir` is 'both'. */
const writer = (count: number, sizeMB: number, dir: 'work' | 'tmp' | 'both') => `
import os, sys
chunk = b"x" * (1024 * 1024)
written = 0
try:
    for i in range(${count}):
        where = ${JSON.stringify(dir)}
        base = "." if where == "work" or (where == "both" and i % 2 == 0) else "/tmp"
        with open(os.path.join(base, "f%d" % i), "wb") as f:
            for _ in range(${sizeMB}):
                f.write(chunk)
                written += len(chunk)
except OSError as e:
    print("written", written // (1024 * 1024), "MB then", os.strerror(e.errno), file=sys.stderr)
    sys.exit(1)
print("written", written // (1024 * 1024), "MB")
`;

describe('disk budget', () => {
  it('fails a step that writes past its budget (nine 64 MB files) and leaves the host free space as it was', async () => {
    const before = hostFree();
    // The incident: nine files of 64 MB, each under the per-file limit, 576 MB in all.
    const r = await h.python(writer(9, 64, 'work'), profile({ limits: { diskMB: 32, fileSizeMB: 64, memoryMB: 256 } }));
    const afterStep = hostFree();
    assert.equal(r.exitCode, 1, r.stderr);
    assert.match(r.stderr, /No space left on device/);
    assert.equal(r.failure, 'the step exceeded its disk budget of 32 MB (its work directory and /tmp together)');
    const wrote = Number(/written (\d+) MB/.exec(r.stderr)?.[1]);
    assert.ok(wrote <= 32, `the step wrote ${wrote} MB`);
    // Other processes on the machine write too; the step itself would have taken 576 MB.
    assert.ok(before - afterStep < 64 * MB, `host free space fell by ${Math.round((before - afterStep) / MB)} MB`);
  });

  it('counts /tmp and the work directory against one budget', async () => {
    const r = await h.python(writer(4, 10, 'both'), profile({ limits: { diskMB: 32 } }));
    assert.equal(r.exitCode, 1);
    assert.match(r.failure ?? '', /disk budget of 32 MB/);
    const wrote = Number(/written (\d+) MB/.exec(r.stderr)?.[1]);
    assert.ok(wrote >= 20 && wrote <= 32, `wrote ${wrote} MB across /tmp and the work directory`);
  });

  it('fails a step that exhausts the budget with empty files (inodes), not only bytes', async () => {
    const r = await h.python(
      'import os\nfor i in range(5000):\n    open("e%d" % i, "w").close()\n',
      profile({ limits: { diskMB: 4, openFiles: 64 } }),
    );
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /No space left on device/);
    assert.match(r.failure ?? '', /disk budget of 4 MB/);
  });

  it('fails the step even when the tool ignores ENOSPC and exits 0', async () => {
    const r = await h.sh('head -c 40000000 /dev/zero > big 2>/dev/null; exit 0', profile({ limits: { diskMB: 8, fileSizeMB: 64 } }));
    assert.equal(r.exitCode, 0);
    assert.match(r.failure ?? '', /disk budget of 8 MB/);
  });

  it('counts what earlier steps left: a step whose work directory already holds more than its budget does not run', async () => {
    const workDir = h.workDir();
    const first = await h.sh('head -c 20000000 /dev/zero > kept', profile({ limits: { diskMB: 64, fileSizeMB: 64 } }), { workDir });
    assert.equal(first.exitCode, 0);
    assert.equal(first.failure, null);
    await assert.rejects(h.sh('touch ran', profile({ limits: { diskMB: 8 } }), { workDir }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SANDBOX_UNAVAILABLE');
      assert.match(err.message, /already holds 19\.1 MB, more than this step's disk budget of 8 MB/);
      assert.ok(!err.message.includes(h.base), err.message);
      return true;
    });
  });
});

describe('disk budget through the executor', () => {
  let s: TestServer;
  let exe: RunningExecutor;
  before(async () => {
    s = await startTestServer(ENGINES[0]!, {
      configure: (dir) => {
        const file = join(dir, 'tools', 'fill.yaml');
        writeFileSync(
          file,
          `apiVersion: countersign/v1
kind: Tool
name: fill
version: 1.0.0
executable: { path: /usr/bin/dd, sha256: ${sha256Of('/usr/bin/dd')} }
sandbox: { limits: { diskMB: 8, fileSizeMB: 64 } }
actions:
  zeros:
    argv: ["if=/dev/zero", "of=zeros", "bs=1M", "count=64"]
    risk: low
`,
        );
        signManifestFile(dir, file);
        const config = join(dir, 'countersign.yaml');
        writeFileSync(config, readFileSync(config, 'utf8').replace(/pollMilliseconds: \d+/, 'pollMilliseconds: 50'));
      },
    });
    exe = await startExecutor(s.dir, { store: s.ctx.store, log: () => {} });
  });
  after(async () => {
    await exe?.stop();
    if (s) removeWorkRoot(s.dir);
    await s?.close();
  });

  it('records the step as failed over its disk budget and releases the disk when the execution ends', async () => {
    const plan = (
      await s.request('POST', '/v1/plans', {
        body: { intent: 'fill', environment: 'dev', steps: [{ tool: 'fill', action: 'zeros', input: {} }] },
      })
    ).body;
    assert.equal(plan.status, 'approved', JSON.stringify(plan));
    const exec = (await s.request('POST', `/v1/plans/${plan.id}/executions`, { body: {} })).body;
    const view = await waitForExecution(s, exec.id);
    assert.equal(view.status, 'failed');
    assert.equal(view.steps[0].status, 'failed');
    assert.equal(view.steps[0].error, 'the step exceeded its disk budget of 8 MB (its work directory and /tmp together)');
    assert.match(view.steps[0].stderr, /No space left on device/);
    // The worker releases the disk right after it records the end (the status shows first).
    const workRoot = defaultWorkRoot(s.dir);
    const mounts = () =>
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.includes(' countersign-disk-') && l.includes(workRoot));
    for (let i = 0; i < 200 && mounts().length > 0; i++) await sleep(50);
    assert.deepEqual(mounts(), []);
  });
});
