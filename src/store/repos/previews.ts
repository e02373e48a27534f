import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * Preview jobs (issue 17): one row per plan whose steps have previews. The API queues it with the
 * plan (`queued`), an executor claims it under a lease and stores what the previews showed
 * (`ready`), the API attaches those results to the plan's hashed document and seals it
 * (`attached`). A stale step queues it again. The results here are a hand-over, not a record:
 * what reviewers approve is the plan document they are copied into.
 */
export type PreviewJobState = 'queued' | 'ready' | 'attached';

export interface PreviewJobRecord {
  tenantId: string;
  planId: string;
  /** The plan hash the previews were run for: results for another content are never attached. */
  planHash: string;
  state: PreviewJobState;
  /** JSON of the per-step previews, once an executor stored them. */
  results: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  attempt: number;
  /** The highest risk Cedar let the proposer propose this plan at (a preview may raise its risk). */
  maxRisk: string;
  createdAt: string;
  updatedAt: string;
}

function toJob(r: Database['plan_previews']): PreviewJobRecord {
  return {
    tenantId: r.tenant_id,
    planId: r.plan_id,
    planHash: r.plan_hash,
    state: r.state as PreviewJobState,
    results: r.results,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
    attempt: Number(r.attempt),
    maxRisk: r.max_risk,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** One tenant's preview jobs (every query carries tenant_id, invariant 18). */
export class PreviewJobsRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly tenantId: string,
  ) {}

  /** Queues (or re-queues, after a stale step) the previews of a plan's current content. */
  /** Queues (or re-queues, keeping its ceiling) the preview job of a plan. */
  async queue(planId: string, planHash: string, at: string, maxRisk?: string): Promise<void> {
    const fresh = {
      plan_hash: planHash,
      state: 'queued',
      results: null,
      lease_owner: null,
      lease_expires_at: null,
      attempt: 0,
      updated_at: at,
    };
    await this.db
      .insertInto('plan_previews')
      .values({ tenant_id: this.tenantId, plan_id: planId, created_at: at, max_risk: maxRisk ?? 'low', ...fresh })
      .onConflict((oc) => oc.column('plan_id').doUpdateSet(fresh))
      .execute();
  }

  async get(planId: string): Promise<PreviewJobRecord | undefined> {
    const r = await this.db
      .selectFrom('plan_previews')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('plan_id', '=', planId)
      .executeTakeFirst();
    return r ? toJob(r) : undefined;
  }

  /** Compare-and-set: only ready results for exactly this content become attached. */
  async markAttached(planId: string, planHash: string, at: string): Promise<boolean> {
    const res = await this.db
      .updateTable('plan_previews')
      .set({ state: 'attached', updated_at: at })
      .where('tenant_id', '=', this.tenantId)
      .where('plan_id', '=', planId)
      .where('plan_hash', '=', planHash)
      .where('state', '=', 'ready')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}

/**
 * The cross-tenant side, like claiming executions: executors claim queued jobs under a lease (a
 * crashed executor's job is claimed again once its lease ran out) and the API finds ready ones.
 */
export class PreviewQueue {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: 'sqlite' | 'postgres',
  ) {}

  async claim(owner: string, leaseMs: number, now: Date): Promise<PreviewJobRecord | undefined> {
    const nowIso = now.toISOString();
    const until = new Date(now.getTime() + leaseMs).toISOString();
    return this.db.transaction().execute(async (trx) => {
      // Only jobs of plans still previewing the content they were queued for (a cancelled plan's job is left).
      let q = trx
        .selectFrom('plan_previews')
        .innerJoin('plans', 'plans.id', 'plan_previews.plan_id')
        .select('plan_previews.plan_id')
        .where('plan_previews.state', '=', 'queued')
        .where('plans.status', '=', 'previewing')
        .whereRef('plans.hash', '=', 'plan_previews.plan_hash')
        .where((eb) => eb.or([eb('plan_previews.lease_expires_at', 'is', null), eb('plan_previews.lease_expires_at', '<', nowIso)]))
        .orderBy('plan_previews.updated_at')
        .limit(1);
      if (this.engine === 'postgres') q = q.forUpdate('plan_previews').skipLocked();
      const next = await q.executeTakeFirst();
      if (!next) return undefined;
      const row = await trx
        .updateTable('plan_previews')
        .set((eb) => ({ lease_owner: owner, lease_expires_at: until, attempt: eb('attempt', '+', 1), updated_at: nowIso }))
        .where('plan_id', '=', next.plan_id)
        .returningAll()
        .executeTakeFirst();
      return row ? toJob(row) : undefined;
    });
  }

  async renew(planId: string, owner: string, leaseMs: number, now: Date): Promise<boolean> {
    const res = await this.db
      .updateTable('plan_previews')
      .set({ lease_expires_at: new Date(now.getTime() + leaseMs).toISOString() })
      .where('plan_id', '=', planId)
      .where('lease_owner', '=', owner)
      .where('state', '=', 'queued')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Stores the results, only by the lease holder of the content they were run for. */
  async complete(planId: string, planHash: string, owner: string, results: string, at: string): Promise<boolean> {
    const res = await this.db
      .updateTable('plan_previews')
      .set({ state: 'ready', results, lease_owner: null, lease_expires_at: null, updated_at: at })
      .where('plan_id', '=', planId)
      .where('plan_hash', '=', planHash)
      .where('lease_owner', '=', owner)
      .where('state', '=', 'queued')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Jobs whose results wait for the API to attach them. */
  async ready(limit: number): Promise<{ tenantId: string; planId: string }[]> {
    const rows = await this.db
      .selectFrom('plan_previews')
      .innerJoin('plans', 'plans.id', 'plan_previews.plan_id')
      .select(['plan_previews.tenant_id', 'plan_previews.plan_id'])
      .where('plan_previews.state', '=', 'ready')
      .where('plans.status', '=', 'previewing')
      .whereRef('plans.hash', '=', 'plan_previews.plan_hash')
      .orderBy('plan_previews.updated_at')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, planId: r.plan_id }));
  }
}
