import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export interface AlertGroupRecord {
  source: string;
  groupKey: string;
  playbook: string;
  state: 'open' | 'closed';
  planId: string | null;
  fingerprints: string[];
  reason: string | null;
  updatedAt: string;
}

export interface AlertPlanRecord {
  planId: string;
  source: string;
  groupKey: string;
  playbook: string;
  planHash: string;
  /** JSON: provenance of every value, the planner's outcome and the model reviews. */
  origin: unknown;
  /** What happened to the alert since (resolved while the plan ran, …). */
  notes: { at: string; note: string }[];
  createdAt: string;
}

/** Fingerprints kept per group: enough to show, bounded so a flood cannot grow a row. */
export const MAX_GROUP_FINGERPRINTS = 200;

function toGroup(r: Database['alert_groups']): AlertGroupRecord {
  return {
    source: r.source,
    groupKey: r.group_key,
    playbook: r.playbook,
    state: r.state,
    planId: r.plan_id,
    fingerprints: JSON.parse(r.fingerprints) as string[],
    reason: r.reason,
    updatedAt: r.updated_at,
  };
}

/** Alert intake state of one tenant: delivery ids, alert groups, alert plans and model usage. */
export class AlertsRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly tenantId: string,
  ) {}

  /** Records a delivery id; false when this source already sent it (a replay). */
  async recordDelivery(source: string, deliveryId: string, at: string): Promise<boolean> {
    const res = await this.db
      .insertInto('webhook_deliveries')
      .values({ tenant_id: this.tenantId, source, delivery_id: deliveryId, received_at: at })
      .onConflict((oc) => oc.columns(['tenant_id', 'source', 'delivery_id']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** Forgets delivery ids older than `before`: past the replay window a stale timestamp refuses them anyway. */
  async pruneDeliveries(before: string): Promise<void> {
    await this.db.deleteFrom('webhook_deliveries').where('tenant_id', '=', this.tenantId).where('received_at', '<', before).execute();
  }

  async getGroup(source: string, groupKey: string, playbook: string): Promise<AlertGroupRecord | undefined> {
    const r = await this.db
      .selectFrom('alert_groups')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('source', '=', source)
      .where('group_key', '=', groupKey)
      .where('playbook', '=', playbook)
      .executeTakeFirst();
    return r ? toGroup(r) : undefined;
  }

  /**
   * Claims a group for a new plan: inserts it open, or reopens it when closed. False when it is
   * open already (another delivery of the group holds it): the caller proposes nothing.
   */
  async claimGroup(source: string, groupKey: string, playbook: string, fingerprints: string[], at: string): Promise<boolean> {
    const prints = JSON.stringify(fingerprints.slice(0, MAX_GROUP_FINGERPRINTS));
    const inserted = await this.db
      .insertInto('alert_groups')
      .values({
        tenant_id: this.tenantId,
        source,
        group_key: groupKey,
        playbook,
        state: 'open',
        plan_id: null,
        fingerprints: prints,
        reason: null,
        updated_at: at,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'source', 'group_key', 'playbook']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) return true;
    const reopened = await this.db
      .updateTable('alert_groups')
      .set({ state: 'open', plan_id: null, fingerprints: prints, reason: null, updated_at: at })
      .where('tenant_id', '=', this.tenantId)
      .where('source', '=', source)
      .where('group_key', '=', groupKey)
      .where('playbook', '=', playbook)
      .where('state', '=', 'closed')
      .executeTakeFirst();
    return Number(reopened.numUpdatedRows) === 1;
  }

  /** Adds fingerprints seen again to an open group (bounded). */
  async addFingerprints(group: AlertGroupRecord, fingerprints: string[], at: string): Promise<void> {
    const merged = [...new Set([...group.fingerprints, ...fingerprints])].slice(0, MAX_GROUP_FINGERPRINTS);
    if (merged.length === group.fingerprints.length) return;
    await this.db
      .updateTable('alert_groups')
      .set({ fingerprints: JSON.stringify(merged), updated_at: at })
      .where('tenant_id', '=', this.tenantId)
      .where('source', '=', group.source)
      .where('group_key', '=', group.groupKey)
      .where('playbook', '=', group.playbook)
      .execute();
  }

  async setGroup(
    key: { source: string; groupKey: string; playbook: string },
    change: { state: 'open' | 'closed'; planId?: string | null; reason?: string | null },
    at: string,
  ): Promise<void> {
    await this.db
      .updateTable('alert_groups')
      .set({
        state: change.state,
        ...(change.planId === undefined ? {} : { plan_id: change.planId }),
        ...(change.reason === undefined ? {} : { reason: change.reason }),
        updated_at: at,
      })
      .where('tenant_id', '=', this.tenantId)
      .where('source', '=', key.source)
      .where('group_key', '=', key.groupKey)
      .where('playbook', '=', key.playbook)
      .execute();
  }

  /** Open groups of a source by group key (every playbook), for resolved alerts. */
  async openGroups(source: string, groupKey: string): Promise<AlertGroupRecord[]> {
    const rows = await this.db
      .selectFrom('alert_groups')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('source', '=', source)
      .where('group_key', '=', groupKey)
      .where('state', '=', 'open')
      .execute();
    return rows.map(toGroup);
  }

  async insertPlan(p: AlertPlanRecord): Promise<void> {
    await this.db
      .insertInto('alert_plans')
      .values({
        plan_id: p.planId,
        tenant_id: this.tenantId,
        source: p.source,
        group_key: p.groupKey,
        playbook: p.playbook,
        plan_hash: p.planHash,
        origin: JSON.stringify(p.origin),
        notes: JSON.stringify(p.notes),
        created_at: p.createdAt,
      })
      .execute();
  }

  async getPlan(planId: string): Promise<AlertPlanRecord | undefined> {
    const r = await this.db
      .selectFrom('alert_plans')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('plan_id', '=', planId)
      .executeTakeFirst();
    if (!r) return undefined;
    return {
      planId: r.plan_id,
      source: r.source,
      groupKey: r.group_key,
      playbook: r.playbook,
      planHash: r.plan_hash,
      origin: JSON.parse(r.origin),
      notes: JSON.parse(r.notes) as AlertPlanRecord['notes'],
      createdAt: r.created_at,
    };
  }

  async addNote(planId: string, note: { at: string; note: string }): Promise<void> {
    const plan = await this.getPlan(planId);
    if (!plan) return;
    await this.db
      .updateTable('alert_plans')
      .set({ notes: JSON.stringify([...plan.notes, note].slice(-50)) })
      .where('tenant_id', '=', this.tenantId)
      .where('plan_id', '=', planId)
      .execute();
  }

  /** Today's usage (tokens, cost in millionths of a dollar). */
  async usage(day: string): Promise<{ tokens: number; costMicros: number }> {
    const r = await this.db
      .selectFrom('model_usage')
      .select(['tokens', 'cost_micros'])
      .where('tenant_id', '=', this.tenantId)
      .where('day', '=', day)
      .executeTakeFirst();
    return { tokens: Number(r?.tokens ?? 0), costMicros: Number(r?.cost_micros ?? 0) };
  }

  /** Adds one call's usage in one statement, so concurrent calls never lose a count. */
  async addUsage(day: string, tokens: number, costMicros: number): Promise<void> {
    await this.db
      .insertInto('model_usage')
      .values({ tenant_id: this.tenantId, day, tokens, cost_micros: costMicros })
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'day']).doUpdateSet((eb) => ({
          tokens: eb('model_usage.tokens', '+', tokens),
          cost_micros: eb('model_usage.cost_micros', '+', costMicros),
        })),
      )
      .execute();
  }
}
