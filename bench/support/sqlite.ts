// The bare-SQLite floor: better-sqlite3 with the product's pragmas (src/store/sqlite/dialect.ts)
// and the product's audit_log DDL, read from a product database so the two cannot drift apart.
import Database from 'better-sqlite3';

export type Synchronous = 'full' | 'normal';

export interface BareAuditDb {
  db: Database.Database;
  /** Inserts one audit-shaped row; outside a transaction that is one commit (one WAL sync under FULL). */
  insert: (row: readonly unknown[]) => void;
  close: () => void;
}

/** The CREATE statements of audit_log and its indexes, as the product's migrations made them. */
export function auditLogDdl(productDbPath: string): string[] {
  const db = new Database(productDbPath, { readonly: true });
  try {
    return db
      .prepare("select sql from sqlite_master where tbl_name = 'audit_log' and sql is not null order by type desc")
      .pluck()
      .all() as string[];
  } finally {
    db.close();
  }
}

export function openBareAuditDb(path: string, ddl: readonly string[], synchronous: Synchronous): BareAuditDb {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  for (const sql of ddl) db.exec(sql);
  const stmt = db.prepare(
    'insert into audit_log (seq, ts, tenant_id, actor, action, outcome, resource, details, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  return { db, insert: (row) => void stmt.run(...row), close: () => db.close() };
}

/** A row the size of a plan.propose entry. */
export function auditShapedRow(seq: number): unknown[] {
  return [
    seq,
    new Date(1_700_000_000_000 + seq).toISOString(),
    'ten_01jbench0000000000000000',
    'prn_01jbench0000000000000000',
    'plan.propose',
    'allowed',
    `plan:pln_01jbench${String(seq).padStart(18, '0')}`,
    '{"environment":"dev","hash":"a3f1c2d4e5b6a7980123456789abcdef0123456789abcdef0123456789abcdef","policies":["role-admin"],"risk":"low","source":"api","steps":3}',
    'b'.repeat(64),
    'c'.repeat(64),
  ];
}

/** Commits per second: one autocommitted insert each, for `budgetMs` (the disk's sync rate, bounded by SQLite). */
export function commitsPerSecond(
  bare: BareAuditDb,
  firstSeq: number,
  budgetMs: number,
  maxCount = 100_000,
): { perSecond: number; count: number; ms: number } {
  const start = performance.now();
  let count = 0;
  while (count < maxCount && performance.now() - start < budgetMs) {
    bare.insert(auditShapedRow(firstSeq + count));
    count++;
  }
  const ms = performance.now() - start;
  return { perSecond: (count * 1000) / ms, count, ms };
}
