import type { LiveHub } from '../live/index.ts';
import { systemPrincipal } from '../operations/index.ts';
import { backoffMs } from '../store/index.ts';
import type { ServerContext } from './context.ts';

/** How often the API looks for previews an executor finished when nothing tells it (one indexed query). */
const POLL_MS = 100;
/**
 * With PostgreSQL notifications arriving, the look it takes anyway: a notification is only a
 * hint, and one lost with a connection is caught up by the reconnect's own wake-up or by this.
 */
export const PREVIEW_IDLE_MS = 5_000;

export interface PreviewAttacherOptions {
  /** Ready results wake the attacher (PostgreSQL); without it, or while it is disconnected, it polls. */
  live?: LiveHub;
  /** Tests only: the look taken while notifications arrive (PREVIEW_IDLE_MS). */
  idleMs?: number;
}

/**
 * Previews (issue 17): the API attaches the previews executors ran, each through the `plan.preview`
 * host operation (decided, audited and notified like every change). The API, not the executor,
 * does it because only the API holds the key that seals a plan. A failure is logged and retried.
 * On PostgreSQL a trigger notifies every replica when results are stored, so an idle API waits
 * for that instead of querying ten times a second; without notifications it polls every 100 ms.
 */
export function startPreviewAttacher(
  ctx: Pick<ServerContext, 'store' | 'pipeline'>,
  log: (line: string) => void,
  options: PreviewAttacherOptions = {},
): () => Promise<void> {
  const stop = new AbortController();
  const idleMs = options.idleMs ?? PREVIEW_IDLE_MS;
  // A refused attach (a tool changed, policies without the action) is audited each time: retried
  // with a growing pause per plan (up to a minute), not at every poll.
  const failures = new Map<string, { n: number; next: number }>();
  // Set by a notification, cleared by the sweep it causes: one that arrives mid-sweep is not lost.
  let woken = true;
  let wake: (() => void) | null = null;
  const unsubscribe = options.live?.onPreviewReady(() => {
    woken = true;
    wake?.();
  });
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        stop.signal.removeEventListener('abort', done);
        resolve();
      }
      wake = done;
      stop.signal.addEventListener('abort', done);
    });
  const loop = (async () => {
    while (!stop.signal.aborted) {
      woken = false;
      try {
        const ready = await ctx.store.previewQueue.ready(100);
        // A plan no longer waiting (attached by another replica, cancelled, expired) is forgotten.
        const waiting = new Set(ready.map((r) => r.planId));
        for (const planId of failures.keys()) if (!waiting.has(planId)) failures.delete(planId);
        for (const { tenantId, planId } of ready) {
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
      if (woken || stop.signal.aborted) continue;
      // Listening: until a notification, the idle look, or the next refused attach's retry.
      const retry = Math.min(...[...failures.values()].map((f) => f.next - Date.now()));
      await pause(options.live?.connected ? Math.max(POLL_MS, Math.min(idleMs, retry)) : POLL_MS);
    }
  })();
  return async () => {
    stop.abort();
    unsubscribe?.();
    await loop;
  };
}
