import { setTimeout as sleep } from 'node:timers/promises';
import { systemPrincipal } from '../operations/index.ts';
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
  const failures = new Map<string, number>();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      try {
        for (const { tenantId, planId } of await ctx.store.previewQueue.ready(20)) {
          if (stop.signal.aborted) break;
          try {
            await ctx.pipeline.run('plan.preview', systemPrincipal(tenantId), { planId }, 'host');
            failures.delete(planId);
          } catch (err) {
            const n = (failures.get(planId) ?? 0) + 1;
            failures.set(planId, n);
            if (n === 1 || n % 100 === 0) log(`could not attach the previews of plan ${planId} (will retry): ${(err as Error).message}`);
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
