import type { ChildProcess, StdioOptions } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import type { Limits } from '../tools/index.ts';
import { OutputCollector } from './output.ts';

const O_CLOEXEC = 0o2000000;

/**
 * Descriptors this process inherited without close-on-exec. Node opens everything it owns with
 * O_CLOEXEC and at start marks 0–15 close-on-exec, so one without it came from our parent (a
 * supervisor, a shell, a test harness — here the harness leaks fd 251) and would otherwise be
 * inherited by bubblewrap and by the tool inside: an open directory descriptor is a way out of
 * any mount namespace (test/attacks/sandbox-escape.test.ts proves it). Read once: none appear later.
 */
export function inheritedDescriptors(): number[] {
  const leaked: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fd');
  } catch {
    return leaked;
  }
  for (const entry of entries) {
    const fd = Number(entry);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    try {
      const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (flags?.[1] !== undefined && (Number.parseInt(flags[1], 8) & O_CLOEXEC) === 0) leaked.push(fd);
    } catch {
      // The descriptor was the directory listing itself, closed meanwhile.
    }
  }
  return leaked.sort((a, b) => a - b);
}

/** Opens /dev/null once per runner; it is dup'ed over every inherited descriptor in each child. */
export function openDevNull(): number {
  return openSync('/dev/null', 'r');
}

export function closeDevNull(fd: number): void {
  closeSync(fd);
}

/**
 * stdio for a step child: pipes for 0-2 ('ignore' for stdin), the runner's own descriptors from 3,
 * and /dev/null over every inherited descriptor number so none of them reaches the tool.
 */
export function stepStdio(extra: readonly ('pipe' | number)[], inherited: readonly number[], devNull: number): StdioOptions {
  const stdio: ('pipe' | 'ignore' | number)[] = ['ignore', 'pipe', 'pipe', ...extra];
  for (const fd of inherited) {
    while (stdio.length <= fd) stdio.push('ignore');
    if (fd >= 3 + extra.length) stdio[fd] = devNull;
  }
  return stdio;
}

export interface SupervisedOutcome {
  exitCode: number | null;
  /** The signal that ended the direct child (for bubblewrap: the wrapper, not the tool). */
  childSignal: string | null;
  /** The runner killed the step, and why. */
  killedBy: 'timeout' | 'abort' | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  durationMs: number;
  /** A live-output callback threw; the step was still supervised to the end. */
  callbackError: unknown;
}

export interface SuperviseOptions {
  limits: Limits;
  secretValues: readonly string[];
  signal?: AbortSignal | undefined;
  onOutput?: ((stream: 'stdout' | 'stderr', chunk: string) => void) | undefined;
  /** Injectable clock (conventions: time comes from an injectable source). */
  now?: () => number;
}

/** Kills the child's whole process group; the child was spawned detached, so it leads one. */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone: nothing left to kill.
  }
}

/**
 * Supervises a spawned step: output under budget, wall-clock timeout and abort both kill the
 * whole process group, and the promise settles only after the child and its pipes are closed,
 * so nothing of the step outlives the call.
 */
export function supervise(child: ChildProcess, options: SuperviseOptions): Promise<SupervisedOutcome> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  let callbackError: unknown;
  const onOutput = options.onOutput;
  const collector = new OutputCollector(
    options.limits.outputKB * 1024,
    options.secretValues,
    onOutput === undefined
      ? undefined
      : (stream, chunk) => {
          if (callbackError !== undefined) return;
          try {
            onOutput(stream, chunk);
          } catch (err) {
            callbackError = err ?? new Error('onOutput threw');
          }
        },
  );
  child.stdout?.on('data', (chunk: Buffer) => collector.push('stdout', chunk));
  child.stderr?.on('data', (chunk: Buffer) => collector.push('stderr', chunk));

  return new Promise((resolve, reject) => {
    let killedBy: SupervisedOutcome['killedBy'] = null;
    const kill = (why: 'timeout' | 'abort'): void => {
      killedBy ??= why;
      killGroup(child);
    };
    const timer = setTimeout(() => kill('timeout'), options.limits.wallSeconds * 1000);
    const onAbort = (): void => kill('abort');
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    const done = (): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (err) => {
      done();
      killGroup(child);
      reject(err);
    });
    child.once('close', (code, signal) => {
      done();
      const out = collector.finish();
      resolve({
        exitCode: code,
        childSignal: signal,
        killedBy,
        stdout: out.stdout,
        stderr: out.stderr,
        truncated: out.truncated,
        durationMs: now() - started,
        callbackError,
      });
    });
  });
}
