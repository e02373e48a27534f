import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export type GrantRow = Database['grants'];

/** The grant ledger of one tenant: each minted grant, its single use and its revocation. */
export class GrantsRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly tenantId: string,
  ) {}

  async insert(g: Omit<Database['grants'], 'tenant_id'>): Promise<void> {
    await this.db
      .insertInto('grants')
      .values({ ...g, tenant_id: this.tenantId })
      .execute();
  }

  async get(jti: string): Promise<Database['grants'] | undefined> {
    return this.db.selectFrom('grants').selectAll().where('tenant_id', '=', this.tenantId).where('jti', '=', jti).executeTakeFirst();
  }

  /** Single use: marks the grant consumed by this execution only if nobody consumed it before. */
  async consume(jti: string, executionId: string, at: string): Promise<boolean> {
    const res = await this.db
      .updateTable('grants')
      .set({ consumed_at: at, execution_id: executionId })
      .where('tenant_id', '=', this.tenantId)
      .where('jti', '=', jti)
      .where('consumed_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async revoke(jti: string, at: string, reason: string): Promise<boolean> {
    const res = await this.db
      .updateTable('grants')
      .set({ revoked_at: at, revoke_reason: reason })
      .where('tenant_id', '=', this.tenantId)
      .where('jti', '=', jti)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}
