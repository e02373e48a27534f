import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BubblewrapRunner } from './bubblewrap.ts';
import { buildSeccompProgram, DENIED_SYSCALLS } from './seccomp.ts';

describe('seccomp program', () => {
  it('is built by libseccomp as whole BPF instructions', async () => {
    const program = await buildSeccompProgram();
    assert.ok(program.bpf.length > 0 && program.bpf.length % 8 === 0, `${program.bpf.length} bytes`);
    assert.equal(program.deniedCount, DENIED_SYSCALLS.length + 1);
  });

  it('refuses (SANDBOX_UNAVAILABLE) when libseccomp cannot build it, and so does the runner', async () => {
    for (const python of ['/nonexistent/python3', '/bin/false']) {
      await assert.rejects(buildSeccompProgram(python), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'SANDBOX_UNAVAILABLE');
        assert.match(err.message, /seccomp filter for steps could not be built .*python3-seccomp/);
        return true;
      });
    }
    await assert.rejects(BubblewrapRunner.create({ seccompPython: '/bin/false', cgroups: 'off' }), { code: 'SANDBOX_UNAVAILABLE' });
  });
});
