import { execFile } from 'node:child_process';
import { CountersignError } from '../errors/index.ts';

/**
 * The seccomp filter every step runs under (issue 11, section 3). Allow by default, and refuse
 * with EPERM what Docker's default profile refuses to a container without extra capabilities:
 * the kernel interfaces a sandboxed tool has no business calling and that local privilege
 * escalations start from (keyrings, ptrace, mounts and namespaces, BPF, perf, userfaultfd,
 * modules, kexec, handles to host files, other processes' memory).
 *
 * The program is built by libseccomp (Debian's python3-seccomp, libseccomp's own bindings), not
 * written by hand: it handles the architecture check (a syscall made through another ABI, such
 * as the x32 or i386 entry points, kills the process instead of slipping past the list) and
 * the comparisons on arguments.
 */

/** Use Debian's interpreter: a python3 earlier on PATH may lack the module. */
export const SECCOMP_PYTHON = '/usr/bin/python3';
export const SECCOMP_INSTALL_HINT = 'install it with: apt-get install -y python3-seccomp';

/** Refused with EPERM. Names the running architecture lacks (e.g. vm86 on x86-64) are skipped. */
export const DENIED_SYSCALLS = [
  // Kernel keyrings: shared across the host's users, a long history of escalations.
  'add_key',
  'keyctl',
  'request_key',
  // Other processes and their memory.
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
  'kcmp',
  // Mounts, the new mount API and namespaces: the layout bubblewrap built is final.
  'mount',
  'umount2',
  'umount',
  'pivot_root',
  'fsopen',
  'fsconfig',
  'fsmount',
  'fspick',
  'move_mount',
  'open_tree',
  'mount_setattr',
  'unshare',
  'setns',
  // Kernel attack surface with no use in a step.
  'bpf',
  'perf_event_open',
  'userfaultfd',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
  'fanotify_init',
  'lookup_dcookie',
  'syslog',
  // Handles that open host files by inode, past every mount (the "shocker" escape).
  'open_by_handle_at',
  'name_to_handle_at',
  // The host itself: modules, kexec, reboot, swap, clocks, accounting, quotas, ports.
  'init_module',
  'finit_module',
  'delete_module',
  'create_module',
  'kexec_load',
  'kexec_file_load',
  'reboot',
  'swapon',
  'swapoff',
  'acct',
  'settimeofday',
  'clock_settime',
  'clock_adjtime',
  'stime',
  'quotactl',
  'quotactl_fd',
  'iopl',
  'ioperm',
  // Obsolete interfaces.
  'uselib',
  'ustat',
  'sysfs',
  '_sysctl',
  'nfsservctl',
  'get_kernel_syms',
  'query_module',
  'vm86',
  'vm86old',
] as const;

/**
 * clone3 passes its flags in a structure the filter cannot read, so it is refused with ENOSYS:
 * the C library then falls back to clone, whose flags the filter does check.
 */
export const ENOSYS_SYSCALLS = ['clone3'] as const;

/** clone flags that create namespaces; clone with any of them is refused with EPERM. */
export const CLONE_NAMESPACE_FLAGS = {
  CLONE_NEWNS: 0x00020000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
} as const;

/**
 * Reads the lists as JSON from argv and writes the BPF program to stdout. A name libseccomp does
 * not know at all is an error (a typo must not silently drop a rule); one it knows but this
 * architecture lacks resolves to a negative pseudo number below -1 and needs no rule.
 */
const BUILDER = `
import errno, json, sys, seccomp
spec = json.loads(sys.argv[1])
f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
def known(name):
    nr = seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
    if nr == -1:
        raise SystemExit("libseccomp does not know the syscall " + name)
    return nr >= 0
for name in spec["eperm"]:
    if known(name):
        f.add_rule(seccomp.ERRNO(errno.EPERM), name)
for name in spec["enosys"]:
    if known(name):
        f.add_rule(seccomp.ERRNO(errno.ENOSYS), name)
for flag in spec["cloneFlags"]:
    f.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
sys.stdout.flush()
f.export_bpf(sys.stdout)
`;

/** The compiled filter, built once per runner and handed to bubblewrap for every step. */
export interface SeccompProgram {
  readonly bpf: Buffer;
  readonly deniedCount: number;
}

/**
 * Builds the filter with libseccomp. Any failure (no python3-seccomp, an unknown name, an empty
 * program) is SANDBOX_UNAVAILABLE: steps never run without it.
 */
export function buildSeccompProgram(python: string = SECCOMP_PYTHON): Promise<SeccompProgram> {
  const spec = JSON.stringify({
    eperm: DENIED_SYSCALLS,
    enosys: ENOSYS_SYSCALLS,
    cloneFlags: Object.values(CLONE_NAMESPACE_FLAGS),
  });
  return new Promise((resolve, reject) => {
    execFile(
      python,
      ['-I', '-c', BUILDER, spec],
      { encoding: 'buffer', env: {}, timeout: 30_000, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        // A BPF program is a whole number of 8-byte instructions.
        if (err || stdout.length === 0 || stdout.length % 8 !== 0) {
          const code = (err as (Error & { code?: unknown }) | null)?.code;
          const why =
            stderr.toString('utf8').trim().split('\n').pop() ||
            (code === 'ENOENT' ? 'not found' : code !== undefined ? `exit status ${String(code)}` : 'no program');
          reject(
            new CountersignError(
              'SANDBOX_UNAVAILABLE',
              `the seccomp filter for steps could not be built with ${python} (${why}): ${SECCOMP_INSTALL_HINT}`,
              err ? { cause: err } : undefined,
            ),
          );
          return;
        }
        resolve({ bpf: stdout, deniedCount: DENIED_SYSCALLS.length + ENOSYS_SYSCALLS.length });
      },
    );
  });
}
