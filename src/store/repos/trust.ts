import type { Kysely } from 'kysely';
import { type Engine, Precompiled } from '../precompiled.ts';
import type { Database } from '../schema.ts';

export interface TrustedKeyRecord {
  keyId: string;
  /** SPKI PEM of the publisher's Ed25519 public key. */
  publicKey: string;
  name: string;
  addedBy: string;
  addedTenant: string;
  addedAt: string;
  removedAt: string | null;
  removedBy: string | null;
  removeReason: string | null;
}

function toRecord(r: Database['trusted_keys']): TrustedKeyRecord {
  return {
    keyId: r.key_id,
    publicKey: r.public_key,
    name: r.name,
    addedBy: r.added_by,
    addedTenant: r.added_tenant,
    addedAt: r.added_at,
    removedAt: r.removed_at,
    removedBy: r.removed_by,
    removeReason: r.remove_reason,
  };
}

/**
 * The installation's trust store of tool publisher keys. Deliberately not per tenant: the tools
 * directory it verifies belongs to the installation. It hangs off a TenantScope only so a change
 * commits in the same transaction as the audit entry of whoever made it.
 */
/** Read by every proposal (the plan is sealed with a trusted key): compiled once (see Precompiled). */
const ACTIVE_KEYS = new Precompiled<Record<string, never>>(
  (db) =>
    db
      .selectFrom('trusted_keys')
      // Named, not `*`: the statement is prepared on PostgreSQL (see Precompiled).
      .select(['key_id', 'public_key', 'name', 'added_by', 'added_tenant', 'added_at', 'removed_at', 'removed_by', 'remove_reason'])
      .where('removed_at', 'is', null)
      .orderBy('added_at'),
  { prepared: true },
);

export class TrustRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: Engine,
  ) {}

  /** Keys trusted now (not removed). */
  async active(): Promise<TrustedKeyRecord[]> {
    const { rows } = await ACTIVE_KEYS.run<Database['trusted_keys']>(this.db, this.engine, {});
    return rows.map(toRecord);
  }

  async get(keyId: string): Promise<TrustedKeyRecord | undefined> {
    const r = await this.db.selectFrom('trusted_keys').selectAll().where('key_id', '=', keyId).executeTakeFirst();
    return r ? toRecord(r) : undefined;
  }

  /**
   * Trusts a key: a new row, or a removed one trusted again. False when it is already trusted.
   */
  async add(k: Pick<TrustedKeyRecord, 'keyId' | 'publicKey' | 'name' | 'addedBy' | 'addedTenant' | 'addedAt'>): Promise<boolean> {
    const existing = await this.get(k.keyId);
    if (existing && existing.removedAt === null) return false;
    if (existing) {
      const res = await this.db
        .updateTable('trusted_keys')
        .set({
          public_key: k.publicKey,
          name: k.name,
          added_by: k.addedBy,
          added_tenant: k.addedTenant,
          added_at: k.addedAt,
          removed_at: null,
          removed_by: null,
          remove_reason: null,
        })
        .where('key_id', '=', k.keyId)
        .where('removed_at', 'is not', null)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    }
    const res = await this.db
      .insertInto('trusted_keys')
      .values({
        key_id: k.keyId,
        public_key: k.publicKey,
        name: k.name,
        added_by: k.addedBy,
        added_tenant: k.addedTenant,
        added_at: k.addedAt,
        removed_at: null,
        removed_by: null,
        remove_reason: null,
      })
      .onConflict((oc) => oc.column('key_id').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  /** Stops trusting a key; false when it is not trusted now. */
  async remove(keyId: string, by: string, at: string, reason: string | null): Promise<boolean> {
    const res = await this.db
      .updateTable('trusted_keys')
      .set({ removed_at: at, removed_by: by, remove_reason: reason })
      .where('key_id', '=', keyId)
      .where('removed_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}
