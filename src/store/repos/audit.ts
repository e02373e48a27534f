import type { Kysely } from 'kysely';
import { type AuditEvent, type AuditRecord, type Checkpoint, type CheckpointSigner, GENESIS_HASH, sealEntry } from '../../audit/index.ts';
import type { Runtime } from '../../runtime.ts';
import type { KnownSecrets } from '../../secrets/index.ts';
import type { Database } from '../schema.ts';

export interface AuditWriterOptions {
  signer: CheckpointSigner | null;
  checkpointEvery: number;
  engine: 'sqlite' | 'postgres';
  runtime: Runtime;
  /** Removes known secret values and credential shapes from details before they are hashed (invariant 12). */
  redaction: KnownSecrets;
  /** Told how long each append took, in seconds (metrics); set by Store.observeAuditAppends. */
  observeAppend?: (seconds: number) => void;
}

type Row = Database['audit_log'];

export function rowToRecord(r: Row): AuditRecord {
  return {
    seq: Number(r.seq),
    ts: r.ts,
    tenantId: r.tenant_id,
    actor: r.actor,
    action: r.action,
    outcome: r.outcome,
    resource: r.resource,
    details: r.details,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/**
 * Appends to the chain inside the caller's transaction, so the entry and the change it records
 * commit or roll back together (invariant 11). The head row lock serializes appenders on
 * PostgreSQL; on SQLite the transaction already holds the write lock (BEGIN IMMEDIATE).
 */
export async function appendAudit(trx: Kysely<Database>, options: AuditWriterOptions, event: AuditEvent): Promise<AuditRecord> {
  let headQuery = trx.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1);
  if (options.engine === 'postgres') headQuery = headQuery.forUpdate();
  const head = await headQuery.executeTakeFirst();
  const prevSeq = head ? Number(head.seq) : 0;
  const prevHash = head ? head.hash : GENESIS_HASH;
  // Redacted before sealing: the hash covers what is stored, and nothing stored holds a secret.
  const redacted = event.details === undefined ? event : { ...event, details: options.redaction.redactValue(event.details) };
  const record = sealEntry(prevSeq + 1, options.runtime.now().toISOString(), prevHash, redacted);
  await trx
    .insertInto('audit_log')
    .values({
      seq: record.seq,
      ts: record.ts,
      tenant_id: record.tenantId,
      actor: record.actor,
      action: record.action,
      outcome: record.outcome,
      resource: record.resource,
      details: record.details,
      prev_hash: record.prevHash,
      hash: record.hash,
    })
    .execute();
  if (head) {
    await trx.updateTable('audit_head').set({ seq: record.seq, hash: record.hash }).where('id', '=', 1).execute();
  } else {
    await trx.insertInto('audit_head').values({ id: 1, seq: record.seq, hash: record.hash }).execute();
  }
  if (options.signer && record.seq % options.checkpointEvery === 0) {
    await insertCheckpoint(trx, options.signer.sign(record.seq, record.hash, record.ts));
  }
  return record;
}

async function insertCheckpoint(trx: Kysely<Database>, cp: Checkpoint): Promise<void> {
  await trx
    .insertInto('audit_checkpoints')
    .values({ seq: cp.seq, head_hash: cp.headHash, ts: cp.ts, key_id: cp.keyId, signature: cp.signature })
    .onConflict((oc) => oc.column('seq').doNothing())
    .execute();
}

/** Signs the current head (on shutdown and on demand), unless it is already checkpointed. */
export async function checkpointHead(trx: Kysely<Database>, options: AuditWriterOptions): Promise<Checkpoint | null> {
  if (!options.signer) return null;
  let q = trx.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1);
  if (options.engine === 'postgres') q = q.forUpdate();
  const head = await q.executeTakeFirst();
  if (!head) return null;
  const cp = options.signer.sign(Number(head.seq), head.hash, options.runtime.now().toISOString());
  await insertCheckpoint(trx, cp);
  return cp;
}

export async function listCheckpoints(db: Kysely<Database>): Promise<Checkpoint[]> {
  const rows = await db.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute();
  return rows.map((r) => ({ seq: Number(r.seq), headHash: r.head_hash, ts: r.ts, keyId: r.key_id, signature: r.signature }));
}

/**
 * The chain after `from` in pages of `pageSize` entries, in seq order. The next page is requested
 * before the current one is handed out, so on PostgreSQL its round trip overlaps the caller's work.
 */
export async function* iterateAuditPages(db: Kysely<Database>, pageSize = 5000, from = 0): AsyncGenerator<AuditRecord[]> {
  const page = (after: number) => db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(pageSize).execute();
  let pending = page(from);
  for (;;) {
    const rows = await pending;
    const last = rows.at(-1);
    const more = last !== undefined && rows.length === pageSize;
    if (more) {
      pending = page(Number(last.seq));
      // A caller that stops early never awaits the prefetched page: its failure is not unhandled.
      pending.catch(() => {});
    }
    yield rows.map(rowToRecord);
    if (!more) return;
  }
}

/** Streams the whole chain entry by entry, in seq order, for export and the audit tree. */
export async function* iterateAudit(db: Kysely<Database>, pageSize = 5000, from = 0): AsyncGenerator<AuditRecord> {
  for await (const page of iterateAuditPages(db, pageSize, from)) yield* page;
}
