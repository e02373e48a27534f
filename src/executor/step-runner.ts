import { setTimeout as sleep } from 'node:timers/promises';
import type { Runner, StepResult, StepSpec } from '../sandbox/index.ts';

export interface RetryPolicy {
  /** Extra attempts after the first, only for actions marked idempotent. */
  attempts: number;
  baseMs: number;
}

/**
 * Runs one step, retrying a failure with bounded exponential backoff only when the action is
 * idempotent (running it again cannot double an effect). A timeout is a failure like any other.
 */
export async function runWithRetry(
  runner: Runner,
  spec: StepSpec,
  idempotent: boolean,
  retry: RetryPolicy,
  options: {
    signal: AbortSignal;
    onOutput?: (stream: 'stdout' | 'stderr', chunk: string) => void;
    onAttempt?: (n: number, last: StepResult | Error | null) => void;
    onEgressDenied?: (d: { host: string; port: number; reason: string }) => void;
  },
): Promise<{ result: StepResult | null; error: Error | null; attempts: number }> {
  const max = idempotent ? 1 + retry.attempts : 1;
  let last: { result: StepResult | null; error: Error | null } = { result: null, error: null };
  for (let n = 1; n <= max; n++) {
    if (options.signal.aborted) break;
    options.onAttempt?.(n, last.result ?? last.error);
    try {
      const result = await runner.run(spec, {
        signal: options.signal,
        onOutput: options.onOutput,
        onEgressDenied: options.onEgressDenied as never,
      });
      last = { result, error: null };
      if (result.exitCode === 0 && !result.timedOut && result.failure === null) return { ...last, attempts: n };
    } catch (err) {
      // Refusals (integrity, sandbox unavailable, secrets) are not transient: never retried.
      return { result: null, error: err as Error, attempts: n };
    }
    if (n < max) await sleep(Math.min(retry.baseMs * 2 ** (n - 1), 30_000), undefined, { signal: options.signal }).catch(() => undefined);
  }
  return { ...last, attempts: max };
}
