import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export interface FreezeRecord {
  scope: string;
  reason: string;
  actor: string;
  createdAt: string;
}

/** Kill switches of one tenant: `*` freezes the tenant, an environment name freezes that one. */
export class FreezesRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly tenantId: string,
  ) {}

  async list(): Promise<FreezeRecord[]> {
    const rows = await this.db.selectFrom('freezes').selectAll().where('tenant_id', '=', this.tenantId).orderBy('scope').execute();
    return rows.map((r) => ({ scope: r.scope, reason: r.reason, actor: r.actor, createdAt: r.created_at }));
  }

  /** The freeze that stops `environment` (its own or the tenant-wide one), if any. */
  async covering(environment: string): Promise<{ scope: string; reason: string } | undefined> {
    return this.db
      .selectFrom('freezes')
      .select(['scope', 'reason'])
      .where('tenant_id', '=', this.tenantId)
      .where('scope', 'in', ['*', environment])
      .executeTakeFirst();
  }

  async add(scope: string, reason: string, actor: string, at: string): Promise<boolean> {
    const res = await this.db
      .insertInto('freezes')
      .values({ tenant_id: this.tenantId, scope, reason, actor, created_at: at })
      .onConflict((oc) => oc.columns(['tenant_id', 'scope']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async remove(scope: string): Promise<boolean> {
    const res = await this.db.deleteFrom('freezes').where('tenant_id', '=', this.tenantId).where('scope', '=', scope).executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }
}
