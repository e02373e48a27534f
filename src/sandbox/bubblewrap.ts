import { accessSync, constants } from 'node:fs';
import { CountersignError } from '../errors/index.ts';
import type { Limits } from '../tools/index.ts';
import { type CheckedBinds, canonicalProtected, checkBinds, handOverWorkDir } from './binds.ts';
import { bwrapCommand, EGRESS_FORWARDER_PORT, type SandboxPlan, SOCAT_PATH } from './bwrap-args.ts';
import { BLOCK_FD, type LaunchContext, launchSandbox, SECCOMP_FD, STATUS_FD } from './bwrap-launch.ts';
import { probeCgroups } from './cgroup-probe.ts';
import type { CgroupDriver } from './cgroups.ts';
import { EgressProxy } from './egress.ts';
import type { Resolver } from './egress-policy.ts';
import { proxyEnvironment, stepEnvironment } from './env.ts';
import { DEFAULT_HOST_USERS, type HostUserLease, HostUserPool, type HostUserRange } from './host-users.ts';
import { ExecutableVerifier } from './integrity.ts';
import { HOST_ETC_ALWAYS, HOST_ETC_FOR_EGRESS, hostRootEntries, isWithin, type RootEntry, RuntimeDir } from './layout.ts';
import { diskBytes, EGRESS_PROCESS_OVERHEAD, shmBytes } from './limits.ts';
import { firstLine, withoutHostPaths } from './messages.ts';
import { MountHelper } from './mounter.ts';
import { assertProbePassed, PROBE_LIMITS, PROBE_SCRIPT, PROBE_SHELL } from './probe.ts';
import type { Runner, RunOptions, StepResult, StepSpec } from './runner.ts';
import { buildSeccompProgram, SECCOMP_PYTHON } from './seccomp.ts';
import { closeDevNull, inheritedDescriptors, openDevNull } from './step-process.ts';
import { type StepDisk, WorkDisks } from './work-disk.ts';

export const INSTALL_HINT = 'install it with: apt-get install -y bubblewrap';

export interface BubblewrapRunnerOptions {
  bwrapPath?: string;
  prlimitPath?: string;
  /** The python3 that has libseccomp's bindings (python3-seccomp), used once to build the filter. */
  seccompPython?: string;
  /**
   * The python3 that makes the work directories' mounts (see mounter.ts); the seccomp filter's
   * interpreter unless set.
   */
  mountPython?: string;
  /**
   * The unprivileged host uids bubblewrap runs as when the executor is root, one per work
   * directory (see host-users.ts; default DEFAULT_HOST_USERS). Started as root, bubblewrap maps
   * the step's uid 65534 to host root: the step would own every root-owned file it can see and
   * RLIMIT_NPROC would not apply (checked here: a fork loop under `--nproc=10` made 60
   * processes). No account may use these uids. A non-root executor runs bubblewrap as itself.
   */
  hostUsers?: HostUserRange;
  /** Paths no step may bind or reach: the data directory, keys, the database. */
  protectedPaths?: readonly string[];
  /** 'auto' uses cgroups where the host lets us; 'off' relies on rlimits only. */
  cgroups?: 'auto' | 'off' | CgroupDriver;
  /** Where the runner's private directory (generated /etc files, egress sockets) is created. */
  runtimeParent?: string;
  /** DNS for the egress proxy; injectable for tests. */
  resolve?: Resolver;
}

function requireExecutable(path: string, what: string, hint: string): void {
  try {
    accessSync(path, constants.X_OK);
  } catch (err) {
    throw new CountersignError('SANDBOX_UNAVAILABLE', `${what} (${path}) is not available: ${hint}`, { cause: err });
  }
}

/**
 * The production runner (invariant 9): one fresh bubblewrap per step, every namespace unshared,
 * the step as `nobody` with no capabilities on an unprivileged host uid, only /usr, the
 * executable, generated /etc files, the profile's paths and the work directory bound, rlimits
 * around it, cgroups where usable, and no network unless the profile names destinations, which
 * then go through the egress proxy. Build it with `BubblewrapRunner.create()`, which refuses
 * (SANDBOX_UNAVAILABLE) when the host cannot sandbox.
 */
export class BubblewrapRunner implements Runner {
  readonly kind = 'bubblewrap' as const;
  /** Which cgroup limits steps get; null means rlimits only (as `checkSandboxHost` reports). */
  readonly cgroupVersion: 'v1' | 'v2' | null;
  readonly #ctx: LaunchContext;
  readonly #socat: string | null;
  readonly #protected: readonly string[];
  readonly #runtime: RuntimeDir;
  readonly #rootEntries: readonly RootEntry[];
  readonly #verifier = new ExecutableVerifier();
  readonly #resolve: Resolver | undefined;
  /** Cleanup still running after steps returned (cgroup removal). */
  readonly #pending: Set<Promise<unknown>>;
  /** Null when the executor is not root: bubblewrap then runs as the executor's own uid. */
  readonly #hostUsers: HostUserPool | null;
  /** Each work directory's size-limited disk (the step's disk budget). */
  readonly #disks: WorkDisks;
  #sockets = 0;

  private constructor(
    ctx: LaunchContext,
    hostUsers: HostUserPool | null,
    socat: string | null,
    protectedPaths: readonly string[],
    runtime: RuntimeDir,
    pending: Set<Promise<unknown>>,
    disks: WorkDisks,
    resolve?: Resolver,
  ) {
    this.#ctx = ctx;
    this.#disks = disks;
    this.#pending = pending;
    this.#hostUsers = hostUsers;
    this.cgroupVersion = ctx.cgroups?.version ?? null;
    this.#socat = socat;
    this.#protected = protectedPaths;
    this.#runtime = runtime;
    this.#resolve = resolve;
    this.#rootEntries = hostRootEntries();
  }

  static async create(options: BubblewrapRunnerOptions = {}): Promise<BubblewrapRunner> {
    const bwrap = options.bwrapPath ?? '/usr/bin/bwrap';
    const prlimit = options.prlimitPath ?? '/usr/bin/prlimit';
    requireExecutable(bwrap, 'bubblewrap', INSTALL_HINT);
    requireExecutable(prlimit, 'prlimit', 'install it with: apt-get install -y util-linux');
    // Built once: every step loads the same program (no filter, no steps).
    const seccomp = await buildSeccompProgram(options.seccompPython ?? SECCOMP_PYTHON);
    let socat: string | null = SOCAT_PATH;
    try {
      accessSync(SOCAT_PATH, constants.X_OK);
    } catch {
      socat = null; // Only egress profiles need it; they are refused with a clear message.
    }
    const cgroups =
      options.cgroups === 'off'
        ? null
        : options.cgroups === undefined || options.cgroups === 'auto'
          ? (await probeCgroups()).driver
          : options.cgroups;
    let hostUsers: HostUserPool | null = null;
    try {
      if (process.getuid?.() === 0) hostUsers = new HostUserPool(options.hostUsers ?? DEFAULT_HOST_USERS);
    } catch (err) {
      throw new CountersignError('CONFIG_INVALID', `invalid sandbox host uid range: ${(err as Error).message}`, { cause: err });
    }
    await cgroups?.sweepStale();
    const mounts = new MountHelper(options.mountPython ?? options.seccompPython ?? SECCOMP_PYTHON);
    let runtime: RuntimeDir;
    try {
      // Dead executors' disks first: their mount points are inside the runtime directories swept next.
      await WorkDisks.sweepStale(mounts);
      runtime = RuntimeDir.create(options.runtimeParent);
    } catch (err) {
      await mounts.close();
      throw err;
    }
    const pending = new Set<Promise<unknown>>();
    const track = (cleanup: Promise<unknown>): void => {
      pending.add(cleanup);
      void cleanup.finally(() => pending.delete(cleanup));
    };
    const ctx: LaunchContext = {
      bwrap,
      prlimit,
      cgroups,
      inherited: inheritedDescriptors(),
      devNull: openDevNull(),
      seccomp: seccomp.bpf,
      track,
    };
    const disks = new WorkDisks(runtime.path, mounts);
    // The runner's own directory (other steps' egress sockets) is never bindable either.
    const protectedPaths = await canonicalProtected([...(options.protectedPaths ?? []), runtime.path]).catch(async (err: unknown) => {
      await disks.close();
      runtime.remove();
      closeDevNull(ctx.devNull);
      throw err;
    });
    const runner = new BubblewrapRunner(ctx, hostUsers, socat, protectedPaths, runtime, pending, disks, options.resolve);
    try {
      await runner.#probe();
    } catch (err) {
      await runner.dispose();
      throw err;
    }
    return runner;
  }

  /** Waits for pending cleanup, then removes the runner's private directory and descriptor. Call at shutdown. */
  async dispose(): Promise<void> {
    await Promise.all([...this.#pending]);
    await this.#disks.close();
    this.#runtime.remove();
    closeDevNull(this.#ctx.devNull);
  }

  async releaseWorkDir(workDir: string): Promise<void> {
    await this.#disks.release(workDir);
  }

  /**
   * One real sandbox at start, set up as every step is: user namespaces, the uid switch, cgroups,
   * the work directory's size-limited disk and the seccomp filter all work, or no runner.
   */
  async #probe(): Promise<void> {
    const workDir = this.#runtime.probeWorkDir();
    const binds: CheckedBinds = { workDir, readOnlyPaths: [], writablePaths: [] };
    const lease = this.#lease(workDir);
    let result: Awaited<ReturnType<typeof launchSandbox>>;
    try {
      const disk = await this.#disks.prepare(workDir, diskBytes(PROBE_LIMITS), lease);
      if (lease) handOverWorkDir(workDir, lease);
      const plan = this.#plan(binds, PROBE_LIMITS, {}, null, null, disk);
      try {
        const command = bwrapCommand(PROBE_SHELL, ['-c', PROBE_SCRIPT], false);
        result = await launchSandbox(this.#ctx, lease, plan, PROBE_LIMITS, 0, command, [], {});
      } finally {
        disk.finish();
      }
    } finally {
      lease?.release();
      await this.#disks.release(workDir);
    }
    assertProbePassed(result.exitCode, result.outcome.stderr);
  }

  #lease(workDir: string): HostUserLease | null {
    try {
      return this.#hostUsers?.lease(workDir) ?? null;
    } catch (err) {
      throw new CountersignError('SANDBOX_UNAVAILABLE', 'no unprivileged host uid is free for this step', { cause: err });
    }
  }

  #plan(
    binds: CheckedBinds,
    limits: Limits,
    env: Record<string, string>,
    executableBind: SandboxPlan['executableBind'],
    egressSocket: string | null,
    disk: StepDisk,
  ): SandboxPlan {
    return {
      rootEntries: this.#rootEntries,
      etcFiles: this.#runtime.etcFiles,
      hostEtc: egressSocket === null ? [...HOST_ETC_ALWAYS] : [...HOST_ETC_ALWAYS, ...HOST_ETC_FOR_EGRESS],
      executableBind,
      readOnlyPaths: binds.readOnlyPaths,
      writablePaths: binds.writablePaths,
      workDir: binds.workDir,
      tmpDir: disk.tmpDir,
      shmBytes: shmBytes(limits),
      env,
      egressSocket,
      statusFd: STATUS_FD,
      seccompFd: SECCOMP_FD,
      blockFd: this.#ctx.cgroups === null ? null : BLOCK_FD,
    };
  }

  /** Where the tool is exec'ed inside, and what (if anything) must be bound for it. */
  #executableLayout(manifestPath: string, realPath: string): { exec: string; bind: SandboxPlan['executableBind'] } {
    if (!isWithin(realPath, '/usr')) return { exec: manifestPath, bind: { source: realPath, dest: manifestPath } };
    // Paths under /usr or the reproduced root links resolve inside exactly as outside (argv[0] kept).
    const sameInside =
      isWithin(manifestPath, '/usr') || this.#rootEntries.some((e) => e.kind === 'symlink' && isWithin(manifestPath, e.path));
    return { exec: sameInside ? manifestPath : realPath, bind: null };
  }

  async run(spec: StepSpec, opts: RunOptions = {}): Promise<StepResult> {
    if (spec.argv.some((arg) => arg.includes('\0'))) throw new CountersignError('ARGUMENT_REFUSED', 'an argv element contains a NUL byte');
    const verified = await this.#verifier.verify(spec.executable, spec.expectedSha256);
    const binds = checkBinds(spec.profile, spec.workDir, this.#protected);
    const lease = this.#lease(binds.workDir);
    try {
      // The disk first: handing the directory over then reaches what was copied onto it.
      const disk = await this.#disks.prepare(binds.workDir, diskBytes(spec.profile.limits), lease);
      let result: StepResult;
      let exceeded = false;
      try {
        if (lease) handOverWorkDir(binds.workDir, lease);
        result = await this.#runAs(spec, opts, verified.realPath, binds, lease, disk);
      } finally {
        exceeded = disk.finish().exceeded;
      }
      if (!exceeded) return result;
      const budget = spec.profile.limits.diskMB;
      return { ...result, failure: `the step exceeded its disk budget of ${budget} MB (its work directory and /tmp together)` };
    } finally {
      lease?.release();
    }
  }

  async #runAs(
    spec: StepSpec,
    opts: RunOptions,
    realPath: string,
    binds: CheckedBinds,
    lease: HostUserLease | null,
    disk: StepDisk,
  ): Promise<StepResult> {
    const egress = spec.profile.egress.length > 0;
    const onEgressDenied = opts.onEgressDenied;
    if (egress && this.#socat === null)
      throw new CountersignError('SANDBOX_UNAVAILABLE', 'the profile allows egress but socat is not installed: apt-get install -y socat');
    if (egress && onEgressDenied === undefined) {
      throw new CountersignError(
        'SANDBOX_UNAVAILABLE',
        'the profile allows egress but no onEgressDenied callback was given, so denials could not be audited',
      );
    }
    const env = stepEnvironment(
      { ...spec, workDir: binds.workDir },
      egress ? proxyEnvironment(`http://127.0.0.1:${EGRESS_FORWARDER_PORT}`) : {},
    );
    const exe = this.#executableLayout(spec.executable, realPath);

    let proxy: EgressProxy | null = null;
    try {
      let socketPath: string | null = null;
      if (egress && onEgressDenied !== undefined) {
        this.#sockets += 1;
        socketPath = this.#runtime.socketPath(`${process.pid}-${this.#sockets}`);
        proxy = await EgressProxy.start({
          allowlist: spec.profile.egress,
          socketPath,
          onDenied: onEgressDenied,
          owner: lease ?? undefined,
          ...(this.#resolve ? { resolve: this.#resolve } : {}),
        });
      }
      const limits = spec.profile.limits;
      const plan = this.#plan(binds, limits, env, exe.bind, socketPath, disk);
      const command = bwrapCommand(exe.exec, spec.argv, egress);
      const extra = egress ? EGRESS_PROCESS_OVERHEAD : 0;
      const { outcome, exitCode } = await launchSandbox(this.#ctx, lease, plan, limits, extra, command, Object.values(spec.secrets), opts);
      if (outcome.callbackError !== undefined) throw outcome.callbackError;
      if (outcome.killedBy === null && exitCode === null) {
        throw new CountersignError(
          'SANDBOX_UNAVAILABLE',
          `the sandbox could not be set up, so the step did not run: ${firstLine(
            withoutHostPaths(outcome.stderr, {
              [binds.workDir]: '<work directory>',
              [this.#runtime.path]: '<runner directory>',
              [disk.tmpDir]: '<step /tmp>',
            }),
          )}`,
        );
      }
      if (egress && exitCode === 125 && outcome.stderr.includes('countersign: the egress forwarder did not start')) {
        throw new CountersignError('SANDBOX_UNAVAILABLE', 'the egress forwarder did not start inside the sandbox, so the step did not run');
      }
      return {
        exitCode: outcome.killedBy === null ? exitCode : null,
        signal: outcome.killedBy === null ? null : 'SIGKILL',
        timedOut: outcome.killedBy === 'timeout',
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        truncated: outcome.truncated,
        durationMs: outcome.durationMs,
        failure: null,
      };
    } finally {
      await proxy?.close();
    }
  }
}
