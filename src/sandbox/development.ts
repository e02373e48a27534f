import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { CountersignError } from '../errors/index.ts';
import { stepEnvironment } from './env.ts';
import { ExecutableVerifier } from './integrity.ts';
import { prlimitArgs } from './limits.ts';
import type { Runner, RunOptions, StepResult, StepSpec } from './runner.ts';
import { closeDevNull, inheritedDescriptors, openDevNull, stepStdio, supervise } from './step-process.ts';

export interface UnsandboxedRunEvent {
  executable: string;
  argv: readonly string[];
  workDir: string;
}

export interface UnsandboxedDevelopmentOptions {
  /** Must be literally `true`: the caller states it knows steps run with the executor's rights. */
  iUnderstandThisIsUnsandboxed: true;
  /**
   * Called before every run so the executor audits it (invariant 9: every unsandboxed run is
   * audited). If it throws, the step does not run (invariant 11: audit before effect).
   */
  onUnsandboxedRun: (event: UnsandboxedRunEvent) => void;
  prlimitPath?: string;
}

/**
 * A runner WITHOUT a sandbox, for the explicit development mode only (invariant 9): no
 * namespaces, no filesystem confinement, no network control — the tool runs with the executor's
 * own rights. It still pins the executable's sha256, runs with a cleared environment holding
 * only PATH, HOME, LANG, the profile's variables and the step's secrets, applies rlimits when
 * prlimit exists, kills the process group on timeout and redacts output.
 */
export function runUnsandboxedForDevelopment(options: UnsandboxedDevelopmentOptions): Runner & { dispose(): Promise<void> } {
  if (options?.iUnderstandThisIsUnsandboxed !== true) {
    throw new CountersignError('SANDBOX_UNAVAILABLE', 'the unsandboxed development runner needs { iUnderstandThisIsUnsandboxed: true }');
  }
  if (typeof options.onUnsandboxedRun !== 'function') {
    throw new CountersignError('SANDBOX_UNAVAILABLE', 'the unsandboxed development runner needs an onUnsandboxedRun audit callback');
  }
  process.emitWarning('Countersign steps run WITHOUT a sandbox (development mode): never use this outside development', {
    code: 'COUNTERSIGN_UNSANDBOXED',
  });
  const prlimitPath = options.prlimitPath ?? '/usr/bin/prlimit';
  let prlimit: string | null = prlimitPath;
  try {
    accessSync(prlimitPath, constants.X_OK);
  } catch {
    prlimit = null;
  }
  const verifier = new ExecutableVerifier();
  const inherited = inheritedDescriptors();
  const devNull = openDevNull();

  return {
    kind: 'unsandboxed-development',
    dispose: async () => closeDevNull(devNull),
    async run(spec: StepSpec, opts: RunOptions = {}): Promise<StepResult> {
      const verified = await verifier.verify(spec.executable, spec.expectedSha256);
      const env = stepEnvironment(spec);
      options.onUnsandboxedRun({ executable: spec.executable, argv: [...spec.argv], workDir: spec.workDir });
      const limits = spec.profile.limits;
      const [command, args] =
        prlimit === null ? [verified.realPath, spec.argv] : [prlimit, [...prlimitArgs(limits, 0), verified.realPath, ...spec.argv]];
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(command, args, { cwd: spec.workDir, env, detached: true, stdio: stepStdio([], inherited, devNull) });
      } catch (err) {
        throw new CountersignError('SANDBOX_UNAVAILABLE', `the step could not be started: ${(err as Error).message}`, { cause: err });
      }
      const outcome = await supervise(child, {
        limits,
        secretValues: Object.values(spec.secrets),
        signal: opts.signal,
        onOutput: opts.onOutput,
      });
      if (outcome.callbackError !== undefined) throw outcome.callbackError;
      return {
        exitCode: outcome.killedBy === null ? outcome.exitCode : null,
        signal: outcome.killedBy === null ? outcome.childSignal : 'SIGKILL',
        timedOut: outcome.killedBy === 'timeout',
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        truncated: outcome.truncated,
        durationMs: outcome.durationMs,
        // No disk budget here: the development runner writes straight to the host's disk.
        failure: null,
      };
    },
  };
}
