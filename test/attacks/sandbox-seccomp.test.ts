/**
 * Issue 11, section 3: every step runs under a seccomp filter that refuses with EPERM what
 * Docker's default profile refuses. Each denied syscall is called for real inside a step (via
 * ctypes), with arguments that would be harmless even unfiltered; a subset is called on the host
 * too, to show that without the filter the kernel would have answered something else, so the
 * EPERM is the filter's.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { CLONE_NAMESPACE_FLAGS, DENIED_SYSCALLS, ENOSYS_SYSCALLS } from '../../src/sandbox/seccomp.ts';
import { PYTHON, profile, SandboxHarness } from '../sandbox/harness.ts';

const EPERM = 1;
const ENOSYS = 38;
const SIGSYS = 31;

/**
 * Arguments per syscall: NULL pointers, bad descriptors or invalid flags, so that nothing
 * happens whether or not the filter is there. `pid` stands for the caller's own pid.
 */
const ARGS: Record<string, Array<number | 'pid'>> = {
  add_key: [0, 0, 0, 0, 0],
  keyctl: [0, -3, 0], // KEYCTL_GET_KEYRING_ID of the session keyring
  request_key: [0, 0, 0, 0],
  ptrace: [3, 'pid', 0, 0], // PTRACE_PEEKUSER on itself, not traced
  process_vm_readv: ['pid', 0, 0, 0, 0, 0],
  process_vm_writev: ['pid', 0, 0, 0, 0, 0],
  kcmp: ['pid', 'pid', 0, 0, 0],
  mount: [0, 0, 0, 0, 0],
  umount2: [0, 0],
  pivot_root: [0, 0],
  fsopen: [0, 0],
  fsconfig: [-1, 0, 0, 0, 0],
  fsmount: [-1, 0, 0],
  fspick: [-1, 0, 0],
  move_mount: [-1, 0, -1, 0, 0],
  open_tree: [-1, 0, 0],
  mount_setattr: [-1, 0, 0, 0, 0],
  unshare: [0],
  setns: [-1, 0],
  bpf: [-1, 0, 0],
  perf_event_open: [0, 0, -1, -1, 0],
  userfaultfd: [0x7fffffff], // invalid flags
  io_uring_setup: [1, 0],
  io_uring_enter: [-1, 0, 0, 0, 0, 0],
  io_uring_register: [-1, 0, 0, 0],
  fanotify_init: [0x7fffffff, 0],
  lookup_dcookie: [0, 0, 0],
  syslog: [10, 0, 0], // SYSLOG_ACTION_SIZE_BUFFER
  open_by_handle_at: [-1, 0, 0],
  name_to_handle_at: [-1, 0, 0, 0, 0],
  init_module: [0, 0, 0],
  finit_module: [-1, 0, 0],
  delete_module: [0, 0],
  create_module: [0, 0],
  kexec_load: [0, 0, 0, 0x7fffffff],
  kexec_file_load: [-1, -1, 0, 0, 0x7fffffff],
  reboot: [0, 0, 0, 0], // wrong magic
  swapon: [0, 0],
  swapoff: [0],
  acct: [0],
  settimeofday: [0, 0], // NULL, NULL: changes nothing
  clock_settime: [0x7fffffff, 0],
  clock_adjtime: [0x7fffffff, 0],
  quotactl: [0, 0, 0, 0],
  quotactl_fd: [-1, 0, 0, 0],
  iopl: [0x7fffffff],
  ioperm: [0, 0, 0],
  uselib: [0],
  ustat: [0, 0],
  sysfs: [99],
  _sysctl: [0],
  nfsservctl: [0, 0, 0],
  get_kernel_syms: [0],
  query_module: [0, 0, 0, 0, 0],
  // Not on x86-64 (libseccomp resolves them below 0 there): called where they exist.
  umount: [0],
  stime: [0],
  vm86: [0, 0],
  vm86old: [0],
  clone3: [0, 0],
};

/** Unfiltered, as root on the host, these answer something other than EPERM. */
const HOST_CONTROL = [
  'keyctl',
  'ptrace',
  'process_vm_readv',
  'unshare',
  'setns',
  'bpf',
  'perf_event_open',
  'io_uring_setup',
  'open_by_handle_at',
  'name_to_handle_at',
  'settimeofday',
  'create_module',
  'clone3',
];

/** Calls each [name, nr, args] given as JSON and prints {name: errno (0 for success)}. */
const PROBE = `
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
out = {}
for name, nr, args in json.loads(sys.argv[1]):
    args = [os.getpid() if a == "pid" else a for a in args]
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    out[name] = ctypes.get_errno() if r == -1 else 0
    if r > 2 and name in ("userfaultfd", "fanotify_init", "perf_event_open", "io_uring_setup"):
        os.close(r)
print(json.dumps(out))
`;

let h: SandboxHarness;
let numbers: Record<string, number>;
before(async () => {
  h = await SandboxHarness.create();
  // Numbers from libseccomp itself, for this architecture; names it lacks resolve below 0.
  const names = JSON.stringify(Object.keys(ARGS));
  numbers = JSON.parse(
    execFileSync(PYTHON, [
      '-c',
      `import json, sys, seccomp\nprint(json.dumps({n: seccomp.resolve_syscall(seccomp.Arch.NATIVE, n) for n in json.loads(sys.argv[1])}))`,
      names,
    ]).toString(),
  );
});
after(() => h.dispose());

const calls = (names: readonly string[]) =>
  JSON.stringify(names.filter((n) => (numbers[n] ?? -1) >= 0).map((n) => [n, numbers[n], ARGS[n]]));

describe('seccomp filter of every step', () => {
  it('names arguments for every syscall the filter refuses', () => {
    assert.deepEqual(
      [...DENIED_SYSCALLS, ...ENOSYS_SYSCALLS].filter((n) => !(n in ARGS)),
      [],
    );
  });

  it('refuses each denied syscall with EPERM inside a step (clone3 with ENOSYS)', async () => {
    const names = [...DENIED_SYSCALLS, ...ENOSYS_SYSCALLS];
    const r = await h.python(PROBE.replace('sys.argv[1]', JSON.stringify(calls(names))), profile());
    assert.equal(r.exitCode, 0, r.stderr);
    const got = JSON.parse(r.stdout) as Record<string, number>;
    const expected = Object.fromEntries(Object.keys(got).map((n) => [n, n === 'clone3' ? ENOSYS : EPERM]));
    assert.deepEqual(got, expected);
    assert.ok(Object.keys(got).length >= 50, `only ${Object.keys(got).length} syscalls exist here`);
  });

  it('is the reason: the same calls on the unfiltered host answer otherwise', () => {
    const out = execFileSync(PYTHON, ['-c', PROBE, calls(HOST_CONTROL)]).toString();
    const got = JSON.parse(out) as Record<string, number>;
    for (const name of HOST_CONTROL) assert.notEqual(got[name], EPERM, `${name} on the host`);
  });

  it('refuses clone with each namespace flag, and still forks and runs threads without them', async () => {
    const script = `
import ctypes, json, os, threading, subprocess
libc = ctypes.CDLL(None, use_errno=True)
out = {}
for name, flag in ${JSON.stringify(Object.entries(CLONE_NAMESPACE_FLAGS))}:
    ctypes.set_errno(0)
    pid = libc.syscall(56, ctypes.c_long(flag | 17), 0, 0, 0, 0)
    if pid == 0:
        os._exit(0)
    if pid > 0:
        os.waitpid(pid, 0)
    out[name] = ctypes.get_errno() if pid == -1 else 0
t = threading.Thread(target=lambda: out.setdefault("thread", 0)); t.start(); t.join()
out["subprocess"] = subprocess.run(["/bin/echo", "ok"], capture_output=True).returncode
print(json.dumps(out))
`;
    const r = await h.python(script, profile());
    assert.equal(r.exitCode, 0, r.stderr);
    const got = JSON.parse(r.stdout) as Record<string, number>;
    for (const name of Object.keys(CLONE_NAMESPACE_FLAGS)) assert.equal(got[name], EPERM, name);
    assert.equal(got.thread, 0);
    assert.equal(got.subprocess, 0);
  });

  it('stops `unshare -U` and `unshare -m` and reports the filter in force', async () => {
    const r = await h.sh('unshare -U true; echo "user=$?"; unshare -m true; echo "mount=$?"; grep Seccomp: /proc/self/status', profile());
    assert.match(r.stdout, /^user=1\nmount=1\nSeccomp:\s+2\n$/);
    assert.match(r.stderr, /Operation not permitted/);
  });

  it('kills a step that makes a denied call through the x32 entry point', { skip: process.arch !== 'x64' }, async () => {
    const r = await h.python(
      'import ctypes\nctypes.CDLL(None).syscall(ctypes.c_long(0x40000000 | 250), 0, -3, 0)\nprint("survived")',
      profile(),
    );
    assert.equal(r.stdout, '');
    assert.equal(r.exitCode, 128 + SIGSYS);
  });

  it('runs an ordinary step as before', async () => {
    const r = await h.sh('mkdir -p a/b && echo hi > a/b/c && cat a/b/c | tr a-z A-Z && ls a | wc -l', profile());
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, 'HI\n1\n');
    assert.equal(r.failure, null);
  });
});
