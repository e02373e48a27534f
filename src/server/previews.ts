import { setTimeout as sleep } from 'node:timers/promises';
import { systemPrincipal } from '../operations/index.ts';
import { backoffMs } from '../store/index.ts';
import type { ServerContext } from './context.ts';

/** How often the API looks for previews an executor finished (one indexed query). */
const POLL_MS = 100;

/**
 * Previews (issue 17): the API attaches the previews executors ran, each through the `plan.preview`
 * host operation (decided, audited and notified like every change). The API, not the executor,
 * does it because only the API holds the key that seals a plan. A failure is logged and retried.
 */
export function startPreviewAttacher(ctx: Pick<ServerContext, 'store' | 'pipeline'>, log: (line: string) => void): () => Promise<void> {
  const stop = new AbortController();
  // A refused attach (a tool changed, policies without the action) is audited each time: retried
  // with a growing pause per plan (up to a minute), not at every poll.
  const failures = new Map<string, { n: number; next: number }>();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      try {
        for (const { tenantId, planId } of await ctx.store.previewQueue.ready(100)) {
          if (stop.signal.aborted) break;
          const failed = failures.get(planId);
          if (failed && Date.now() < failed.next) continue;
          try {
            await ctx.pipeline.run('plan.preview', systemPrincipal(tenantId), { planId }, 'host');
            failures.delete(planId);
          } catch (err) {
            const n = (failed?.n ?? 0) + 1;
            failures.set(planId, { n, next: Date.now() + backoffMs(n, POLL_MS, 60_000) });
            if (n === 1 || n % 20 === 0) log(`could not attach the previews of plan ${planId} (will retry): ${(err as Error).message}`);
          }
        }
      } catch (err) {
        if (!stop.signal.aborted) log(`preview attach sweep failed (will retry): ${(err as Error).message}`);
      }
      await sleep(POLL_MS, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  })();
  return async () => {
    stop.abort();
    await loop;
  };
}
