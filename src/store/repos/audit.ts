import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, type Kysely } from 'kysely';
import {
  type AuditEvent,
  type AuditHashInput,
  type AuditRecord,
  type Checkpoint,
  type CheckpointSigner,
  canonicalDetails,
  GENESIS_HASH,
  sealEntry,
} from '../../audit/index.ts';
import type { Runtime } from '../../runtime.ts';
import type { KnownSecrets } from '../../secrets/index.ts';
import { prepareOnPostgres } from '../postgres/prepared.ts';
import { type Param, Precompiled } from '../precompiled.ts';
import type { Database } from '../schema.ts';
import { AUDIT_PAGE_SQL, AUDIT_ROW_SQL, type AuditRow, type AuditTextRow, auditTextPageSql, fromAuditRow } from '../sqlite/audit-text.ts';
import { ROWS_AS_ARRAYS } from '../sqlite/dialect.ts';

export interface AuditWriterOptions {
  signer: CheckpointSigner | null;
  checkpointEvery: number;
  engine: 'sqlite' | 'postgres';
  runtime: Runtime;
  /** Removes known secret values and credential shapes from details before they are hashed (invariant 12). */
  redaction: KnownSecrets;
  /** Told how long each append took, in seconds (metrics); set by Store.observeAuditAppends. */
  observeAppend?: (seconds: number) => void;
  /**
   * SQLite: appends an entry recorded outside any transaction at once, when the connection is idle
   * (appendAuditNow); null when it is not, and the entry goes through the group commit instead.
   */
  immediate?: (event: AuditEvent) => AuditRecord | null;
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

/** The chain head; on PostgreSQL locked until the transaction ends, so appenders queue on it. */
const AUDIT_HEAD = new Precompiled<{ id: number }>(
  (db, param, engine) => {
    const q = db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', param<number>('id'));
    return engine === 'postgres' ? q.forUpdate() : q;
  },
  { prepared: true },
);

type EntryValues = Record<'seq' | 'ts' | 'tenant' | 'actor' | 'action' | 'outcome' | 'resource' | 'details' | 'prev' | 'hash', unknown>;

function entryValues(param: Param) {
  return {
    seq: param<number>('seq'),
    ts: param<string>('ts'),
    tenant_id: param<string>('tenant'),
    actor: param<string>('actor'),
    action: param<string>('action'),
    outcome: param<string>('outcome'),
    resource: param<string>('resource'),
    details: param<string>('details'),
    prev_hash: param<string>('prev'),
    hash: param<string>('hash'),
  };
}

const AUDIT_INSERT = new Precompiled<EntryValues>((db, param) => db.insertInto('audit_log').values(entryValues(param)), { prepared: true });

/**
 * PostgreSQL: one statement locks the chain head, inserts the entry after it — hashed by the
 * database over the same RFC 8785 text as entryText: `to_json` encodes a string exactly as
 * JSON.stringify does (a test compares the two on every code point), and the fields are in key
 * order — and moves the head: one round trip per append instead of two. A concurrent appender
 * waits on the head's row lock and then reads the head as moved (READ COMMITTED re-reads a
 * locked row once its locker commits). No row comes back when there is no head yet.
 */
const PG_APPEND = `with head as (
  select seq, hash from audit_head where id = 1 for update
), entry as (
  insert into audit_log (seq, ts, tenant_id, actor, action, outcome, resource, details, prev_hash, hash)
  select head.seq + 1, $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, head.hash,
    encode(sha256(convert_to('{"action":' || to_json($4::text)::text || ',"actor":' || to_json($3::text)::text
      || ',"details":' || to_json($7::text)::text || ',"outcome":' || to_json($5::text)::text
      || ',"prev":' || to_json(head.hash)::text || ',"resource":' || to_json($6::text)::text
      || ',"seq":' || (head.seq + 1)::text || ',"tenant":' || to_json($2::text)::text
      || ',"ts":' || to_json($1::text)::text || '}', 'UTF8')), 'hex')
  from head
  returning seq, prev_hash, hash
), moved as (
  update audit_head set seq = entry.seq, hash = entry.hash from entry where audit_head.id = 1
)
select seq, prev_hash, hash from entry`;
prepareOnPostgres(PG_APPEND);

const AUDIT_HEAD_UPDATE = new Precompiled<{ id: number; seq: number; hash: string }>(
  (db, param) =>
    db
      .updateTable('audit_head')
      .set({ seq: param('seq'), hash: param('hash') })
      .where('id', '=', param<number>('id')),
  { prepared: true },
);

/**
 * Appends to the chain inside the caller's transaction, so the entry and the change it records
 * commit or roll back together (invariant 11). The head row lock serializes appenders on
 * PostgreSQL; on SQLite the transaction already holds the write lock (BEGIN IMMEDIATE). The
 * statements every append runs are compiled once (see Precompiled); on PostgreSQL the whole
 * append — head, entry, the head's move — is one statement (PG_APPEND).
 */
export async function appendAudit(trx: Kysely<Database>, options: AuditWriterOptions, event: AuditEvent): Promise<AuditRecord> {
  const { engine } = options;
  const redacted = redactedEvent(options, event);
  const ts = options.runtime.now().toISOString();
  const record =
    (engine === 'postgres' ? await appendOnPostgres(trx, ts, redacted) : null) ?? (await appendAfterHead(trx, options, ts, redacted));
  if (options.signer && record.seq % options.checkpointEvery === 0) {
    await insertCheckpoint(trx, options.signer.sign(record.seq, record.hash, record.ts));
  }
  return record;
}

/** Redacted before sealing: the hash covers what is stored, and nothing stored holds a secret. */
function redactedEvent(options: AuditWriterOptions, event: AuditEvent): AuditEvent {
  return event.details === undefined ? event : { ...event, details: options.redaction.redactValue(event.details) };
}

/** The statements of appendAuditNow, prepared once per connection. */
const IMMEDIATE = new WeakMap<BetterSqlite3.Database, ReturnType<typeof immediateStatements>>();

function immediateStatements(raw: BetterSqlite3.Database) {
  return {
    begin: raw.prepare('begin immediate'),
    commit: raw.prepare('commit'),
    rollback: raw.prepare('rollback'),
    head: raw.prepare('select seq, hash from audit_head where id = 1'),
    insert: raw.prepare(
      'insert into audit_log (seq, ts, tenant_id, actor, action, outcome, resource, details, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    moveHead: raw.prepare('update audit_head set seq = ?, hash = ? where id = 1'),
    firstHead: raw.prepare('insert into audit_head (id, seq, hash) values (1, ?, ?)'),
    checkpoint: raw.prepare(
      'insert into audit_checkpoints (seq, head_hash, ts, key_id, signature) values (?, ?, ?, ?, ?) on conflict (seq) do nothing',
    ),
  };
}

/**
 * SQLite: appends one entry in a transaction of its own, at once, on the store's connection —
 * BEGIN IMMEDIATE, head, entry, head moved, checkpoint, COMMIT — with no turn of the event loop in
 * between, so nothing else can run on the connection meanwhile. For an entry recorded alone (a
 * refusal, a sign-in) while the connection is idle: the caller checks that no transaction of the
 * group commit runs or waits. Returns null, having changed nothing, when the connection is in a
 * transaction, is still iterating a read, or another connection holds the write lock: the caller
 * then takes the usual path, which waits for it. Writes exactly what appendAudit writes: one chain
 * whichever path each entry took (test/audit-immediate.test.ts).
 */
export function appendAuditNow(raw: BetterSqlite3.Database, options: AuditWriterOptions, event: AuditEvent): AuditRecord | null {
  if (raw.inTransaction) return null;
  let s = IMMEDIATE.get(raw);
  if (s === undefined) {
    s = immediateStatements(raw);
    IMMEDIATE.set(raw, s);
  }
  const redacted = redactedEvent(options, event);
  const ts = options.runtime.now().toISOString();
  try {
    s.begin.run();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_RECOVERY') return null;
    // A read still iterating on the connection (a streamed query): the usual path waits for it.
    if (err instanceof TypeError && /busy executing a query/.test(err.message)) return null;
    throw err;
  }
  try {
    const head = s.head.get() as { seq: number; hash: string } | undefined;
    const record = sealEntry(head ? Number(head.seq) + 1 : 1, ts, head ? head.hash : GENESIS_HASH, redacted);
    const { seq, hash } = record;
    s.insert.run(
      seq,
      record.ts,
      record.tenantId,
      record.actor,
      record.action,
      record.outcome,
      record.resource,
      record.details,
      record.prevHash,
      hash,
    );
    if (head) s.moveHead.run(seq, hash);
    else s.firstHead.run(seq, hash);
    if (options.signer && seq % options.checkpointEvery === 0) {
      const cp = options.signer.sign(seq, hash, record.ts);
      s.checkpoint.run(cp.seq, cp.headHash, cp.ts, cp.keyId, cp.signature);
    }
    s.commit.run();
    return record;
  } catch (err) {
    if (raw.inTransaction) s.rollback.run();
    throw err;
  }
}

/** The entry appended by PG_APPEND, or null when the chain has no head yet. */
async function appendOnPostgres(trx: Kysely<Database>, ts: string, event: AuditEvent): Promise<AuditRecord | null> {
  const details = canonicalDetails(event.details);
  const { rows } = await trx.executeQuery<{ seq: number | string; prev_hash: string; hash: string }>(
    CompiledQuery.raw(PG_APPEND, [ts, event.tenantId, event.actor, event.action, event.outcome, event.resource, details]),
  );
  const row = rows[0];
  if (row === undefined) return null;
  // What the database hashed must be what verification will hash: sealed here the same way, or
  // the caller's transaction fails and neither the entry nor the change it records stands.
  const record = sealEntry(Number(row.seq), ts, row.prev_hash, event);
  if (record.hash !== row.hash) throw new Error(`audit entry ${record.seq}: the database's hash differs from entryHash; not written`);
  return record;
}

/** Reads the head, seals the entry here and writes it and the moved head (SQLite; the first entry on PostgreSQL). */
async function appendAfterHead(trx: Kysely<Database>, options: AuditWriterOptions, ts: string, event: AuditEvent): Promise<AuditRecord> {
  const { engine } = options;
  const head = (await AUDIT_HEAD.run<{ seq: number | string; hash: string }>(trx, engine, { id: 1 })).rows[0];
  const prevSeq = head ? Number(head.seq) : 0;
  const prevHash = head ? head.hash : GENESIS_HASH;
  const record = sealEntry(prevSeq + 1, ts, prevHash, event);
  const values = {
    seq: record.seq,
    ts: record.ts,
    tenant: record.tenantId,
    actor: record.actor,
    action: record.action,
    outcome: record.outcome,
    resource: record.resource,
    details: record.details,
    prev: record.prevHash,
    hash: record.hash,
  };
  await AUDIT_INSERT.run(trx, engine, values);
  if (head) await AUDIT_HEAD_UPDATE.run(trx, engine, { id: 1, seq: record.seq, hash: record.hash });
  else await trx.insertInto('audit_head').values({ id: 1, seq: record.seq, hash: record.hash }).execute();
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
 * Entries per page when the chain is read whole. Measured on a 100k-entry SQLite chain: pages of
 * 1,000 verify ~45% faster than pages of 5,000, whose rows (two pages alive with the prefetch)
 * outlive the young generation and make garbage collection a quarter of the work.
 */
export const AUDIT_PAGE_SIZE = 1000;

/** One page of the chain after a seq, read on SQLite as arrays (no object per row from the driver). */
const SQLITE_AUDIT_PAGE = `${ROWS_AS_ARRAYS}${AUDIT_PAGE_SQL}`;

const SQLITE_AUDIT_ROW = `${ROWS_AS_ARRAYS}${AUDIT_ROW_SQL}`;

function readAuditPage(db: Kysely<Database>, engine: 'sqlite' | 'postgres', after: number, pageSize: number): Promise<AuditRecord[]> {
  if (engine === 'sqlite') {
    return db.executeQuery<AuditRow>(CompiledQuery.raw(SQLITE_AUDIT_PAGE, [after, pageSize])).then(({ rows }) => rows.map(fromAuditRow));
  }
  // Columns aliased to AuditRecord's names: the rows are the records (seq arrives as a number).
  return db
    .selectFrom('audit_log')
    .select(['seq', 'ts', 'tenant_id as tenantId', 'actor', 'action', 'outcome', 'resource', 'details', 'prev_hash as prevHash', 'hash'])
    .where('seq', '>', after)
    .orderBy('seq')
    .limit(pageSize)
    .execute();
}

const SQLITE_AUDIT_TEXT_PAGE = `${ROWS_AS_ARRAYS}${auditTextPageSql(false)}`;

/** One page of the chain as verification reads it: on SQLite the text each hash covers, else the records. */
async function readVerificationPage(
  db: Kysely<Database>,
  engine: 'sqlite' | 'postgres',
  after: number,
  pageSize: number,
): Promise<(AuditRecord | AuditHashInput)[]> {
  if (engine !== 'sqlite') return readAuditPage(db, engine, after, pageSize);
  const { rows } = await db.executeQuery<AuditTextRow>(CompiledQuery.raw(SQLITE_AUDIT_TEXT_PAGE, [after, pageSize]));
  const page: (AuditRecord | AuditHashInput)[] = [];
  for (const r of rows) {
    if (r[3] !== null) {
      page.push({ seq: r[0], prevHash: r[1], hash: r[2], text: r[3] });
      continue;
    }
    // An unusual row: read whole (by rowid: its seq may not even be a number), so verification
    // judges its fields as they are stored.
    const [whole] = (await db.executeQuery<AuditRow>(CompiledQuery.raw(SQLITE_AUDIT_ROW, [r[4]]))).rows;
    if (whole === undefined) throw new Error(`audit entry ${r[0]} changed while it was being verified`);
    page.push(fromAuditRow(whole));
  }
  return page;
}

/**
 * The chain after `from` in pages of `pageSize` entries, in seq order. The next page is requested
 * before the current one is handed out, so on PostgreSQL its round trip overlaps the caller's work.
 */
export function iterateAuditPages(
  db: Kysely<Database>,
  engine: 'sqlite' | 'postgres',
  pageSize = AUDIT_PAGE_SIZE,
  from = 0,
): AsyncGenerator<AuditRecord[]> {
  return prefetchPages((after) => readAuditPage(db, engine, after, pageSize), pageSize, from);
}

/** The chain in pages for verifyAuditChain: on SQLite each entry as the text its hash covers (see AUDIT_TEXT_SQL in sqlite/audit-text.ts). */
export function iterateAuditVerificationPages(
  db: Kysely<Database>,
  engine: 'sqlite' | 'postgres',
  pageSize = AUDIT_PAGE_SIZE,
): AsyncGenerator<(AuditRecord | AuditHashInput)[]> {
  return prefetchPages((after) => readVerificationPage(db, engine, after, pageSize), pageSize, 0);
}

async function* prefetchPages<T extends { seq: number }>(
  page: (after: number) => Promise<T[]>,
  pageSize: number,
  from: number,
): AsyncGenerator<T[]> {
  let pending = page(from);
  for (;;) {
    const rows = await pending;
    const last = rows.at(-1);
    const more = last !== undefined && rows.length === pageSize;
    if (more) {
      pending = page(last.seq);
      // A caller that stops early never awaits the prefetched page: its failure is not unhandled.
      pending.catch(() => {});
    }
    yield rows;
    if (!more) return;
  }
}

/** Streams the whole chain entry by entry, in seq order, for export and the audit tree. */
export async function* iterateAudit(
  db: Kysely<Database>,
  engine: 'sqlite' | 'postgres',
  pageSize = AUDIT_PAGE_SIZE,
  from = 0,
): AsyncGenerator<AuditRecord> {
  for await (const page of iterateAuditPages(db, engine, pageSize, from)) yield* page;
}
