import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs, isStoreUnavailable } from '../store/index.ts';

/**
 * Runs `write` until it succeeds, retrying only while the database is unavailable (a restart,
 * a failover) and only for `forMs`: past that the lease this worker holds may have expired, and
 * the execution belongs to whoever claims it next. Any other error is thrown at once.
 *
 * Callers make `write` safe to repeat: a commit whose acknowledgement was lost may have landed,
 * so each write checks under its row lock that it is still needed (the lease is held, the step is
 * still running) before it changes anything.
 */
export async function retryWhileStoreUnavailable<T>(
  write: () => Promise<T>,
  forMs: number,
  onRetry: (err: Error, attempt: number) => void = () => undefined,
): Promise<T> {
  const deadline = Date.now() + forMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (!isStoreUnavailable(err) || Date.now() >= deadline) throw err;
      onRetry(err as Error, attempt);
      await sleep(Math.min(backoffMs(attempt, 100, 2_000), Math.max(0, deadline - Date.now())));
    }
  }
}
