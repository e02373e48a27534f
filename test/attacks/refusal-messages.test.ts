/**
 * Issue 11, section 4: a refusal says what was refused and why, never where the host keeps it.
 * `"/proc/self/environ" resolves to /proc/24886/environ` told a proposer the executor's pid and,
 * for other inputs, its work root. Every refusal here is checked for the work root, the data
 * directory, the executor's pid and any `/proc/<pid>` path.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathRootsFor, resolvePathInput } from '../../src/sandbox/index.ts';
import { profile, SandboxHarness } from '../sandbox/harness.ts';

let h: SandboxHarness;
before(async () => {
  h = await SandboxHarness.create();
});
after(() => h.dispose());

function assertDiscreet(message: string): void {
  for (const secret of [h.base, h.dataDir, String(process.pid)]) {
    assert.ok(!message.includes(secret), `"${message}" reveals ${secret}`);
  }
  assert.doesNotMatch(message, /\/proc\/\d+/);
}

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected a refusal');
};

describe('refusal messages', () => {
  it('path inputs: name the input and the reason, not the canonical host path', () => {
    const workDir = h.workDir();
    symlinkSync('/proc/self', join(workDir, 'me'));
    symlinkSync(h.dataDir, join(workDir, 'data'));
    symlinkSync('/etc', join(workDir, 'etc'));
    symlinkSync(join(workDir, 'nowhere'), join(workDir, 'dangling'));
    symlinkSync('loop-b', join(workDir, 'loop-a'));
    symlinkSync('loop-a', join(workDir, 'loop-b'));
    const roots = pathRootsFor(profile(), workDir);
    const inputs = [
      '/proc/self/environ',
      '/proc/self/cwd/x',
      '/proc/thread-self/environ',
      '/dev/stdin',
      'me/environ',
      'me/root/etc/shadow',
      'data/secret.txt',
      'etc/passwd',
      '../../etc/passwd',
      '..',
      'dangling',
      'loop-a',
      'bad\0byte',
    ];
    for (const input of inputs) {
      const message = refusal(() => resolvePathInput(input, roots));
      assert.match(message, /^path "/, input);
      assertDiscreet(message);
    }
  });

  it('path inputs: a root the sandbox does not bind, and a mount point below the root', () => {
    const workDir = h.workDir();
    const other = join(h.base, 'other');
    mkdirSync(other);
    const unbound = pathRootsFor(profile({ pathRoots: [h.base] }), workDir);
    assert.match(
      refusal(() => resolvePathInput('../other/x', unbound)),
      /leads to a place the sandbox does not contain/,
    );
    assertDiscreet(refusal(() => resolvePathInput('../other/x', unbound)));

    const sub = join(workDir, 'sub');
    mkdirSync(sub);
    execFileSync('/usr/bin/mount', ['-t', 'tmpfs', '-o', 'size=1m', 'refusal-test', sub]);
    try {
      const message = refusal(() => resolvePathInput('sub/x', pathRootsFor(profile(), workDir)));
      assert.match(message, /crosses a mount point below its root/);
      assertDiscreet(message);
    } finally {
      execFileSync('/usr/bin/umount', [sub]);
    }
  });

  it('runner refusals: a missing work directory, protected paths, a full disk budget', async () => {
    const messages: string[] = [];
    // A profile path the manifest names may be echoed: it is the manifest's own word.
    const capture = async (run: Promise<unknown>, echoed?: string) => {
      await run.then(
        () => assert.fail('expected a refusal'),
        (err: Error) => messages.push(echoed === undefined ? err.message : err.message.replaceAll(echoed, '<profile path>')),
      );
    };
    await capture(h.sh('true', profile(), { workDir: join(h.base, 'never-created') }));
    await capture(h.sh('true', profile({ readOnlyPaths: [h.dataDir] })), h.dataDir);
    await capture(h.sh('true', profile({ writablePaths: [join(h.dataDir, 'secret.txt')] })), join(h.dataDir, 'secret.txt'));
    await capture(h.sh('true', profile(), { workDir: h.dataDir }));
    await capture(h.sh('true', profile(), { workDir: join(h.dataDir, 'secret.txt') }));
    const workDir = h.workDir();
    await h.sh('head -c 3000000 /dev/zero > f', profile({ limits: { diskMB: 8 } }), { workDir });
    await capture(h.sh('true', profile({ limits: { diskMB: 2 } }), { workDir }));
    assert.equal(messages.length, 6);
    for (const message of messages) assertDiscreet(message);
    assert.ok(messages.some((m) => m.includes('overlaps a path the executor protects')));
    assert.ok(messages.some((m) => m.includes("more than this step's disk budget of 2 MB")));
  });
});
