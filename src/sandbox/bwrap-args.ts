import type { RootEntry } from './layout.ts';

/** The uid/gid a step runs as inside its user namespace: `nobody`, never 0 (invariant 9). */
export const SANDBOX_UID = 65534;
export const SANDBOX_GID = 65534;
/** Where the egress proxy's Unix socket appears inside the sandbox. */
export const EGRESS_SOCKET_INSIDE = '/run/countersign/egress.sock';
export const EGRESS_FORWARDER_PORT = 3128;
/** The forwarder runs inside the sandbox, where only /usr is visible: it must live there. */
export const SOCAT_PATH = '/usr/bin/socat';

/** Everything a step's sandbox is made of, already canonical and checked. */
export interface SandboxPlan {
  readonly rootEntries: readonly RootEntry[];
  readonly etcFiles: ReadonlyArray<{ source: string; dest: string }>;
  /** Host files under /etc bound read-only if present (`--ro-bind-try`). */
  readonly hostEtc: readonly string[];
  /** Read-only binds of the executable when it is not already under /usr: source -> dest. */
  readonly executableBind: { source: string; dest: string } | null;
  readonly readOnlyPaths: readonly string[];
  readonly writablePaths: readonly string[];
  readonly workDir: string;
  /** Host folder bound as /tmp: part of the work directory's size-limited disk (work-disk.ts). */
  readonly tmpDir: string;
  readonly shmBytes: number;
  readonly env: Readonly<Record<string, string>>;
  /** Host path of this step's egress socket; null means no network at all (the default). */
  readonly egressSocket: string | null;
  readonly statusFd: number;
  /** Where bubblewrap reads the seccomp program it loads before it execs the tool. */
  readonly seccompFd: number;
  /** Set when the step must wait for the runner (to be placed in its cgroups) before it starts. */
  readonly blockFd: number | null;
}

/**
 * bubblewrap options, in order (bubblewrap applies them in order; `--remount-ro /` must be last).
 * Paths are bound at the same path inside as outside, so a canonical host path under a bound
 * root names the same file inside the sandbox (see paths.ts).
 */
export function bwrapOptions(plan: SandboxPlan): string[] {
  const a: string[] = [
    '--unshare-all',
    '--unshare-user',
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_GID),
    // No nested user namespaces: they are the usual first step of kernel privilege escalations.
    '--disable-userns',
    '--die-with-parent',
    // The tool is pid 1 of its namespace. bubblewrap's own init would be orphaned to the host's
    // init when the step ends and linger as a zombie until reaped (measured here: one per step,
    // reaped seconds later), holding RLIMIT_NPROC slots of the sandbox uid and failing later steps
    // with EAGAIN. When pid 1 exits the kernel still kills everything left in the namespace.
    '--as-pid-1',
    '--new-session',
    '--clearenv',
    '--hostname',
    'countersign-step',
    '--ro-bind',
    '/usr',
    '/usr',
  ];
  for (const entry of plan.rootEntries) {
    if (entry.kind === 'symlink') a.push('--symlink', entry.target, entry.path);
    else a.push('--ro-bind', entry.path, entry.path);
  }
  a.push('--proc', '/proc', '--dev', '/dev');
  a.push('--size', String(plan.shmBytes), '--tmpfs', '/dev/shm', '--remount-ro', '/dev');
  // Before the binds below: a work directory under /tmp must be bound on top of it, not hidden.
  a.push('--bind', plan.tmpDir, '/tmp');
  a.push('--dir', '/etc');
  for (const file of plan.etcFiles) a.push('--ro-bind', file.source, file.dest);
  for (const path of plan.hostEtc) a.push('--ro-bind-try', path, path);
  if (plan.executableBind) a.push('--ro-bind', plan.executableBind.source, plan.executableBind.dest);
  for (const path of plan.readOnlyPaths) a.push('--ro-bind', path, path);
  a.push('--bind', plan.workDir, plan.workDir);
  for (const path of plan.writablePaths) a.push('--bind', path, path);
  if (plan.egressSocket !== null) a.push('--bind', plan.egressSocket, EGRESS_SOCKET_INSIDE);
  a.push('--chdir', plan.workDir);
  for (const [name, value] of Object.entries(plan.env)) a.push('--setenv', name, value);
  a.push('--json-status-fd', String(plan.statusFd));
  a.push('--seccomp', String(plan.seccompFd));
  if (plan.blockFd !== null) a.push('--block-fd', String(plan.blockFd));
  // The sandbox's own root (a tmpfs holding the mount points) becomes read-only last.
  a.push('--remount-ro', '/');
  return a;
}

/**
 * The in-sandbox start of an egress step: socat listens on the sandbox's private loopback and
 * relays to the proxy's Unix socket; the tool starts only once the listener is up (read from
 * /proc/net/tcp without forking), or the step fails with 125 rather than run with a broken proxy.
 */
const PORT_HEX = EGRESS_FORWARDER_PORT.toString(16).toUpperCase().padStart(4, '0');
export const EGRESS_WRAPPER = [
  `${SOCAT_PATH} TCP-LISTEN:${EGRESS_FORWARDER_PORT},bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:${EGRESS_SOCKET_INSIDE} </dev/null >/dev/null 2>&1 &`,
  'n=0',
  'while [ $n -lt 600 ]; do',
  '  while read -r _ l _ s _; do',
  `    if [ "$l" = "0100007F:${PORT_HEX}" ] && [ "$s" = "0A" ]; then exec "$@"; fi`,
  '  done </proc/net/tcp',
  '  n=$((n+1))',
  '  if [ $n -gt 50 ]; then sleep 0.01; fi',
  'done',
  'echo "countersign: the egress forwarder did not start" >&2',
  'exit 125',
].join('\n');

/** The command bubblewrap runs: the tool itself, or the egress wrapper that execs it. */
export function bwrapCommand(executable: string, argv: readonly string[], egress: boolean): string[] {
  if (!egress) return ['--', executable, ...argv];
  return ['--', '/bin/sh', '-c', EGRESS_WRAPPER, 'countersign-egress', executable, ...argv];
}
