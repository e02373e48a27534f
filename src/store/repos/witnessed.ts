import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** A checkpoint of the audit tree that witnesses cosigned: the note with every signature line. */
export interface WitnessedCheckpointRecord {
  size: number;
  /** The C2SP checkpoint note: the log's signature and the witnesses' cosignature lines. */
  note: string;
  /** The witness names whose cosignatures verified when it was stored. */
  witnesses: string[];
  createdAt: string;
}

/**
 * Witnessed checkpoints (issue 17), installation-wide like the audit log they cover. Readers
 * never trust a row for what it says: they verify the note's signatures with keys that live in
 * files and config, not in this table.
 */
export class WitnessedRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records a witnessed checkpoint; a second one of the same size (another replica) keeps the first. */
  async insert(r: WitnessedCheckpointRecord): Promise<void> {
    await this.db
      .insertInto('witnessed_checkpoints')
      .values({ size: r.size, note: r.note, witnesses: JSON.stringify(r.witnesses), created_at: r.createdAt })
      .onConflict((oc) => oc.column('size').doNothing())
      .execute();
  }

  /** The largest witnessed checkpoints first. */
  async latest(limit = 5): Promise<WitnessedCheckpointRecord[]> {
    const rows = await this.db.selectFrom('witnessed_checkpoints').selectAll().orderBy('size', 'desc').limit(limit).execute();
    return rows.map((r) => ({
      size: Number(r.size),
      note: r.note,
      witnesses: JSON.parse(r.witnesses) as string[],
      createdAt: r.created_at,
    }));
  }

  /** The sequence number of the newest audit entry of `action` with `outcome` on `resource` in a tenant. */
  async lastEntrySeq(tenantId: string, resource: string, action: string, outcome: string): Promise<number | null> {
    const r = await this.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .where('tenant_id', '=', tenantId)
      .where('resource', '=', resource)
      .where('action', '=', action)
      .where('outcome', '=', outcome)
      .executeTakeFirst();
    return r?.seq === null || r?.seq === undefined ? null : Number(r.seq);
  }
}
