import type { SandboxProfile } from '../tools/index.ts';
import type { EgressDenial } from './egress-policy.ts';

/** One step as the executor hands it to a runner: everything already rendered and resolved. */
export interface StepSpec {
  /** Absolute path of the tool's executable, as its manifest names it. */
  executable: string;
  /** The sha256 the manifest pins; checked before every run (issue 5, item 4). */
  expectedSha256: string;
  /** argv after the executable, rendered by `renderArgv` — never a shell string. */
  argv: string[];
  profile: SandboxProfile;
  /** The execution's work directory: the one writable place, also HOME and the cwd. */
  workDir: string;
  /** name -> value, resolved by the executor at step time; injected into this sandbox only. */
  secrets: Record<string, string>;
}

export interface StepResult {
  /** The tool's exit status; a tool killed by a signal inside the sandbox reads 128 + signo. */
  exitCode: number | null;
  /** Set when the runner itself killed the step (timeout or abort). */
  signal: string | null;
  timedOut: boolean;
  /** Output with every form of `spec.secrets` and known credential shapes redacted. */
  stdout: string;
  stderr: string;
  /** More than `limits.outputKB` was written; the rest was read and dropped. */
  truncated: boolean;
  durationMs: number;
  /**
   * Set when the runner knows the step failed whatever its exit code says: it filled its disk
   * budget, so some of its writes got ENOSPC. A step with a failure never counts as succeeded.
   */
  failure: string | null;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Live output, already redacted; a chunk may be delayed until the next one to redact across boundaries. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: string) => void;
  /**
   * Required when the profile allows egress: every refused destination is reported here so the
   * executor can audit it. A step with egress and no callback is refused (fail closed).
   */
  onEgressDenied?: (denial: EgressDenial) => void;
}

export interface Runner {
  readonly kind: 'bubblewrap' | 'unsandboxed-development';
  run(spec: StepSpec, opts?: RunOptions): Promise<StepResult>;
  /** Releases what the runner holds (its private directory, cgroups, a descriptor); await it at shutdown. */
  dispose?(): Promise<void>;
  /**
   * Frees what the runner keeps for a work directory between steps (its size-limited disk, whose
   * content goes with it). Call when the execution ends, before removing the directory.
   */
  releaseWorkDir?(workDir: string): Promise<void>;
}
