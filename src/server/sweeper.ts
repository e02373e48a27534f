import { systemPrincipal } from '../operations/index.ts';
import type { ServerContext } from './context.ts';

type SweepContext = Pick<ServerContext, 'store' | 'pipeline' | 'runtime' | 'config'>;

/** Expires one tenant's overdue plans (pending past expiry, previewing too long); returns how many moved. */
export async function expireDuePlans(ctx: SweepContext, tenantId: string, log: (line: string) => void = () => {}): Promise<number> {
  const now = ctx.runtime.now();
  const previewingBefore = new Date(now.getTime() - ctx.config.plans.pendingTtlHours * 3_600_000).toISOString();
  const due = await ctx.store.scope(tenantId).plans.listExpired(now.toISOString(), previewingBefore, 500);
  let moved = 0;
  for (const p of due) {
    try {
      await ctx.pipeline.run('plan.expire', systemPrincipal(tenantId), { planId: p.id }, 'host');
      moved++;
    } catch (err) {
      log(`could not expire plan ${p.id} (will retry): ${(err as Error).message}`);
    }
  }
  return moved;
}

/**
 * Pending plans past their expiry, and previewing plans whose previews did not come within the
 * pending TTL, move to `expired`, each through the `plan.expire` host operation (audited like
 * every other change), once a minute while the API runs.
 */
export function startExpirySweeper(ctx: SweepContext, log: (line: string) => void): () => void {
  const sweep = async () => {
    try {
      for (const tenantId of await ctx.store.listTenantIdsForSweeps()) await expireDuePlans(ctx, tenantId, log);
    } catch (err) {
      log(`expiry sweep failed (will retry): ${(err as Error).message}`);
    }
  };
  const timer = setInterval(() => void sweep(), 60_000);
  timer.unref();
  void sweep();
  return () => clearInterval(timer);
}
