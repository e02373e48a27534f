import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bwrapCommand, bwrapOptions, EGRESS_SOCKET_INSIDE, type SandboxPlan } from './bwrap-args.ts';

const plan: SandboxPlan = {
  rootEntries: [
    { kind: 'symlink', path: '/bin', target: 'usr/bin' },
    { kind: 'dir', path: '/lib64' },
  ],
  etcFiles: [{ source: '/run/cs/etc/passwd', dest: '/etc/passwd' }],
  hostEtc: ['/etc/ld.so.cache'],
  executableBind: null,
  readOnlyPaths: ['/opt/tool'],
  writablePaths: [],
  workDir: '/var/lib/countersign-work/e1',
  tmpDir: '/run/cs/disk-1/tmp-1',
  shmBytes: 512,
  env: { HOME: '/var/lib/countersign-work/e1', TOKEN: 'v' },
  egressSocket: null,
  statusFd: 4,
  seccompFd: 5,
  blockFd: null,
};

describe('bwrapOptions', () => {
  it('unshares everything, drops to nobody without user namespaces inside, and ends read-only', () => {
    const a = bwrapOptions(plan);
    for (const flag of [
      '--unshare-all',
      '--unshare-user',
      '--disable-userns',
      '--die-with-parent',
      '--as-pid-1',
      '--new-session',
      '--clearenv',
    ]) {
      assert.ok(a.includes(flag), flag);
    }
    assert.deepEqual(a.slice(a.indexOf('--uid'), a.indexOf('--uid') + 4), ['--uid', '65534', '--gid', '65534']);
    assert.ok(!a.includes('--share-net'));
    assert.deepEqual(a.slice(-2), ['--remount-ro', '/']);
  });

  it('loads the seccomp program from its descriptor', () => {
    const a = bwrapOptions(plan);
    assert.deepEqual(a.slice(a.indexOf('--seccomp'), a.indexOf('--seccomp') + 2), ['--seccomp', '5']);
  });

  it('binds only /usr, the layout, the profile paths, /tmp and the work directory (both on the step disk)', () => {
    const a = bwrapOptions(plan);
    const binds = a.flatMap((v, i) => (v === '--bind' || v === '--ro-bind' || v === '--ro-bind-try' ? [`${v} ${a[i + 1]}`] : []));
    assert.deepEqual(binds, [
      '--ro-bind /usr',
      '--ro-bind /lib64',
      '--bind /run/cs/disk-1/tmp-1',
      '--ro-bind /run/cs/etc/passwd',
      '--ro-bind-try /etc/ld.so.cache',
      '--ro-bind /opt/tool',
      '--bind /var/lib/countersign-work/e1',
    ]);
    assert.ok(!a.includes(EGRESS_SOCKET_INSIDE));
  });

  it('binds the egress socket and starts the forwarder only when the profile allows egress', () => {
    const a = bwrapOptions({ ...plan, egressSocket: '/run/cs/egress-1.sock' });
    assert.ok(a.includes(EGRESS_SOCKET_INSIDE));
    assert.deepEqual(bwrapCommand('/usr/bin/tool', ['x'], false), ['--', '/usr/bin/tool', 'x']);
    const wrapped = bwrapCommand('/usr/bin/tool', ['x'], true);
    assert.deepEqual(wrapped.slice(-3), ['countersign-egress', '/usr/bin/tool', 'x']);
  });
});
