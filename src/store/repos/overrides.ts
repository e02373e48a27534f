import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export interface OverrideRecord {
  id: string;
  tenantId: string;
  environment: string;
  /** The canonical JSON text that was signed. */
  document: string;
  keyId: string;
  signature: string;
  nonce: string;
  reason: string;
  issuedBy: string;
  issuedAt: string;
  expiresAt: string;
  consumedAt: string | null;
  executionId: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
  revokeReason: string | null;
}

function toRecord(r: Database['overrides']): OverrideRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    environment: r.environment,
    document: r.document,
    keyId: r.key_id,
    signature: r.signature,
    nonce: r.nonce,
    reason: r.reason,
    issuedBy: r.issued_by,
    issuedAt: r.issued_at,
    expiresAt: r.expires_at,
    consumedAt: r.consumed_at,
    executionId: r.execution_id,
    revokedAt: r.revoked_at,
    revokedBy: r.revoked_by,
    revokeReason: r.revoke_reason,
  };
}

/** Break-glass overrides of one tenant. Every query carries `tenant_id` (invariant 18). */
export class OverridesRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly tenantId: string,
  ) {}

  async insert(o: Omit<OverrideRecord, 'tenantId' | 'consumedAt' | 'executionId' | 'revokedAt' | 'revokedBy' | 'revokeReason'>) {
    await this.db
      .insertInto('overrides')
      .values({
        id: o.id,
        tenant_id: this.tenantId,
        environment: o.environment,
        document: o.document,
        key_id: o.keyId,
        signature: o.signature,
        nonce: o.nonce,
        reason: o.reason,
        issued_by: o.issuedBy,
        issued_at: o.issuedAt,
        expires_at: o.expiresAt,
        consumed_at: null,
        execution_id: null,
        revoked_at: null,
        revoked_by: null,
        revoke_reason: null,
      })
      .execute();
  }

  async get(id: string): Promise<OverrideRecord | undefined> {
    const r = await this.db
      .selectFrom('overrides')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? toRecord(r) : undefined;
  }

  /** Newest first. */
  async list(limit: number): Promise<OverrideRecord[]> {
    const rows = await this.db
      .selectFrom('overrides')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .orderBy('issued_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toRecord);
  }

  /**
   * Consumes the nonce: succeeds once, only while the override is neither used nor revoked.
   * Called in the transaction that creates the execution, so both commit or neither does.
   */
  async consume(id: string, nonce: string, executionId: string, at: string): Promise<boolean> {
    const res = await this.db
      .updateTable('overrides')
      .set({ consumed_at: at, execution_id: executionId })
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', id)
      .where('nonce', '=', nonce)
      .where('consumed_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** False when it is already revoked. */
  async revoke(id: string, by: string, at: string, reason: string): Promise<boolean> {
    const res = await this.db
      .updateTable('overrides')
      .set({ revoked_at: at, revoked_by: by, revoke_reason: reason })
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}
