import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { CountersignError } from '../errors/index.ts';
import type { Limits } from '../tools/index.ts';
import { bwrapOptions, type SandboxPlan } from './bwrap-args.ts';
import type { CgroupDriver, StepCgroup } from './cgroups.ts';
import { prlimitArgs } from './limits.ts';
import type { RunOptions } from './runner.ts';
import { killGroup, type SupervisedOutcome, stepStdio, supervise } from './step-process.ts';

export const ARGS_FD = 3;
export const STATUS_FD = 4;
export const SECCOMP_FD = 5;
export const BLOCK_FD = 6;

/** bubblewrap's --json-status-fd stream: the child pid first, the exit code once the tool ends. */
class StatusReader {
  #buffer = '';
  childPid: number | null = null;
  /** Null until bubblewrap reports the tool's exit: a step that never started has none. */
  exitCode: number | null = null;
  onChildPid: ((pid: number) => void) | null = null;

  push(chunk: Buffer): void {
    this.#buffer += chunk.toString('utf8');
    let newline = this.#buffer.indexOf('\n');
    while (newline >= 0) {
      const line = this.#buffer.slice(0, newline).trim();
      this.#buffer = this.#buffer.slice(newline + 1);
      newline = this.#buffer.indexOf('\n');
      if (line.length === 0) continue;
      const status = JSON.parse(line) as { 'child-pid'?: unknown; 'exit-code'?: unknown };
      if (typeof status['exit-code'] === 'number') this.exitCode = status['exit-code'];
      if (typeof status['child-pid'] === 'number' && this.childPid === null) {
        this.childPid = status['child-pid'];
        this.onChildPid?.(this.childPid);
      }
    }
  }
}

export interface LaunchContext {
  readonly bwrap: string;
  readonly prlimit: string;
  readonly cgroups: CgroupDriver | null;
  readonly inherited: readonly number[];
  readonly devNull: number;
  /** The compiled seccomp filter, written to bubblewrap's SECCOMP_FD for every step. */
  readonly seccomp: Buffer;
  /** Registers cleanup still running after a step returned, so the runner's dispose can await it. */
  readonly track: (cleanup: Promise<unknown>) => void;
}

export interface LaunchResult {
  outcome: SupervisedOutcome;
  /** The tool's exit status as bubblewrap saw it; null if the tool never started. */
  exitCode: number | null;
}

/**
 * Starts one sandbox: prlimit sets the rlimits and execs bubblewrap as the unprivileged host
 * user; bubblewrap reads its options from a pipe (so secrets in `--setenv` never appear in a
 * host-visible command line) and reports through a status pipe. With cgroups, bubblewrap is held
 * on its block pipe until its processes are in the step's cgroups, so nothing escapes them; the
 * cgroups are made right after the spawn, while bubblewrap starts.
 */
export async function launchSandbox(
  ctx: LaunchContext,
  hostUser: { uid: number; gid: number } | null,
  plan: SandboxPlan,
  limits: Limits,
  extraProcesses: number,
  command: readonly string[],
  secretValues: readonly string[],
  opts: RunOptions,
): Promise<LaunchResult> {
  const pids = limits.processes + extraProcesses;
  const drivers = ctx.cgroups;
  const made: { cgroup: Promise<StepCgroup> | null } = { cgroup: null };
  const createCgroup =
    drivers === null
      ? null
      : () => {
          const cgroup = drivers.create({ memoryBytes: limits.memoryMB * 1024 * 1024, pids });
          cgroup.catch(() => undefined);
          made.cgroup = cgroup;
          return cgroup;
        };
  try {
    return await spawnAndSupervise(ctx, hostUser, plan, limits, extraProcesses, command, createCgroup, secretValues, opts);
  } finally {
    // Removal waits for the kernel to release the namespace's last tasks; the step's result does
    // not wait for it (a cgroup the kernel still holds is retried by the next step's create).
    const created = made.cgroup;
    if (created !== null) {
      ctx.track(
        created
          .catch(() => null)
          .then((c) => c?.remove())
          .catch(() => undefined),
      );
    }
  }
}

async function spawnAndSupervise(
  ctx: LaunchContext,
  hostUser: { uid: number; gid: number } | null,
  plan: SandboxPlan,
  limits: Limits,
  extraProcesses: number,
  command: readonly string[],
  createCgroup: (() => Promise<StepCgroup>) | null,
  secretValues: readonly string[],
  opts: RunOptions,
): Promise<LaunchResult> {
  const fds: 'pipe'[] = plan.blockFd === null ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe', 'pipe'];
  let child: ChildProcess;
  try {
    child = spawn(ctx.prlimit, [...prlimitArgs(limits, extraProcesses), ctx.bwrap, '--args', String(ARGS_FD), ...command], {
      env: {},
      detached: true,
      stdio: stepStdio(fds, ctx.inherited, ctx.devNull),
      ...(hostUser ? { uid: hostUser.uid, gid: hostUser.gid } : {}),
    });
  } catch (err) {
    throw new CountersignError('SANDBOX_UNAVAILABLE', 'bubblewrap could not be started', { cause: err });
  }
  // The cgroup is made while bubblewrap starts in the child (the tool waits on its block pipe
  // until it is joined): after the spawn, whose fork blocks this thread, its writes overlap
  // bubblewrap's own setup instead of waiting for the event loop behind it.
  const cgroup = createCgroup === null ? null : createCgroup();
  const pipes = child.stdio as unknown as ReadonlyArray<Readable | Writable | null | undefined>;
  const argsPipe = pipes[ARGS_FD] as Writable;
  const statusPipe = pipes[STATUS_FD] as Readable;
  const seccompPipe = pipes[SECCOMP_FD] as Writable;
  const blockPipe = plan.blockFd === null ? null : (pipes[BLOCK_FD] as Writable);
  for (const pipe of [argsPipe, statusPipe, seccompPipe, blockPipe]) pipe?.on('error', () => undefined);

  const status = new StatusReader();
  let setupError: unknown;
  const failSetup = (err: unknown): void => {
    setupError ??= err;
    killGroup(child);
  };
  status.onChildPid = (childPid) => {
    if (cgroup === null || blockPipe === null) return;
    // The tool has not started (bubblewrap waits on the block pipe): place the sandbox's first
    // process in the cgroups now, so everything the tool forks is inside them. (The outer
    // bubblewrap only waits; it stays outside and is not counted.)
    void (async () => {
      const created = await cgroup;
      await created.add(childPid);
      blockPipe.end('1');
    })().catch(failSetup);
  };
  statusPipe.on('data', (chunk: Buffer) => {
    try {
      status.push(chunk);
    } catch (err) {
      failSetup(err);
    }
  });
  argsPipe.end(`${bwrapOptions(plan).join('\0')}\0`);
  // bubblewrap reads the program to its end; a few hundred bytes fit any pipe's buffer. If it
  // cannot load it, it exits before the tool starts and the step is refused.
  seccompPipe.end(ctx.seccomp);

  let outcome: SupervisedOutcome;
  try {
    outcome = await supervise(child, { limits, secretValues, signal: opts.signal, onOutput: opts.onOutput });
  } catch (err) {
    throw new CountersignError('SANDBOX_UNAVAILABLE', 'bubblewrap could not be started', { cause: err });
  }
  if (setupError !== undefined) {
    throw new CountersignError('SANDBOX_UNAVAILABLE', 'the step could not be placed in its cgroups, so it did not run', {
      cause: setupError,
    });
  }
  return { outcome, exitCode: status.exitCode };
}
