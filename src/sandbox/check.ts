import { execFile } from 'node:child_process';
import { BubblewrapRunner, type BubblewrapRunnerOptions, INSTALL_HINT } from './bubblewrap.ts';
import { SOCAT_PATH } from './bwrap-args.ts';
import { probeCgroups } from './cgroup-probe.ts';
import { DEFAULT_HOST_USERS } from './host-users.ts';
import { buildSeccompProgram, CLONE_NAMESPACE_FLAGS, SECCOMP_PYTHON } from './seccomp.ts';
import { inheritedDescriptors } from './step-process.ts';

export interface SandboxCheckItem {
  name: string;
  ok: boolean;
  detail: string;
}

export interface SandboxHostReport {
  /** Steps can run sandboxed here: bubblewrap, user namespaces, prlimit, seccomp and the disk budget all work. */
  ok: boolean;
  /** Which cgroup limits steps get; null means rlimits only. */
  cgroupVersion: 'v1' | 'v2' | null;
  items: SandboxCheckItem[];
}

function version(path: string, args: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(path, [...args], { timeout: 5000, env: {} }, (err, stdout, stderr) => {
      if (err) return resolve(null);
      const lines = `${stdout}${stderr}`.split('\n').filter((l) => l.trim().length > 0);
      resolve((lines.find((l) => /version/i.test(l)) ?? lines[0] ?? '').trim());
    });
  });
}

/**
 * What `countersign sandbox check` prints: each capability the runner relies on, tested for
 * real (a probe sandbox is started, a probe cgroup created), never inferred from config.
 */
export async function checkSandboxHost(options: BubblewrapRunnerOptions = {}): Promise<SandboxHostReport> {
  const items: SandboxCheckItem[] = [];
  const bwrapPath = options.bwrapPath ?? '/usr/bin/bwrap';
  const bwrap = await version(bwrapPath, ['--version']);
  items.push({ name: 'bubblewrap', ok: bwrap !== null, detail: bwrap ?? `${bwrapPath} not found: ${INSTALL_HINT}` });

  const prlimitPath = options.prlimitPath ?? '/usr/bin/prlimit';
  const prlimit = await version(prlimitPath, ['--version']);
  items.push({ name: 'prlimit', ok: prlimit !== null, detail: prlimit ?? `${prlimitPath} not found: apt-get install -y util-linux` });

  const socat = await version(SOCAT_PATH, ['-V']);
  items.push({
    name: 'socat (egress forwarder)',
    ok: socat !== null,
    detail: socat === null ? `${SOCAT_PATH} not found: steps with an egress allowlist will be refused (apt-get install -y socat)` : socat,
  });

  const python = options.seccompPython ?? SECCOMP_PYTHON;
  let seccomp: SandboxCheckItem;
  try {
    const program = await buildSeccompProgram(python);
    seccomp = {
      name: 'seccomp filter (python3-seccomp)',
      ok: true,
      detail: `${program.bpf.length}-byte program: ${program.deniedCount} syscalls refused (EPERM; clone3 ENOSYS) and clone with ${Object.keys(CLONE_NAMESPACE_FLAGS).length} namespace flags; loaded by bubblewrap in every step`,
    };
  } catch (err) {
    seccomp = { name: 'seccomp filter (python3-seccomp)', ok: false, detail: (err as Error).message };
  }
  items.push(seccomp);

  const root = process.getuid?.() === 0;
  items.push({
    name: 'disk budget',
    ok: root,
    detail: root
      ? "each work directory and its steps' /tmp share one size-limited tmpfs (limits.diskMB), mounted by the executor as root"
      : 'not enforceable: the executor must run as root to mount a size-limited work directory, so steps are refused',
  });
  const hostUsers = options.hostUsers ?? DEFAULT_HOST_USERS;
  let userns: SandboxCheckItem;
  if (bwrap === null || prlimit === null || !seccomp.ok || !root) {
    userns = { name: 'user namespaces', ok: false, detail: 'not tested: bubblewrap, prlimit, seccomp or the disk budget is missing' };
  } else {
    try {
      const runner = await BubblewrapRunner.create({ ...options, cgroups: 'off' });
      await runner.dispose();
      const who = root
        ? `host uids ${hostUsers.first}-${hostUsers.first + hostUsers.count - 1} (one per work directory)`
        : `the executor's own uid ${process.getuid?.()} (steps share its process limit)`;
      userns = {
        name: 'user namespaces',
        ok: true,
        detail: `a probe sandbox ran as ${who}, uid 65534 inside, no capabilities, seccomp filter in force, on a size-limited disk`,
      };
    } catch (err) {
      userns = { name: 'user namespaces', ok: false, detail: (err as Error).message };
    }
  }
  items.push(userns);

  const cgroups = await probeCgroups();
  items.push({
    name: 'cgroup memory and pids limits',
    ok: cgroups.driver !== null,
    detail:
      cgroups.driver !== null
        ? `${cgroups.mounted} host; steps get ${cgroups.driver.description}`
        : `${cgroups.mounted} host; not usable, steps get rlimits only: ${cgroups.detail}`,
  });

  const inherited = inheritedDescriptors();
  items.push({
    name: 'inherited descriptors',
    ok: true,
    detail: inherited.length === 0 ? 'none' : `${inherited.join(', ')} (covered with /dev/null in every step)`,
  });

  const ok = bwrap !== null && prlimit !== null && seccomp.ok && root && userns.ok;
  return { ok, cgroupVersion: cgroups.driver?.version ?? null, items };
}
