import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

/**
 * Direct SQL on a server's database, bypassing Countersign entirely — what an attacker with
 * database access (or a careless operator) can do. `?` placeholders work on both engines.
 */
export async function rawSql(
  target: { dir: string; databaseUrl: string | undefined },
  sql: string,
  params: unknown[] = [],
): Promise<any[]> {
  if (target.databaseUrl) {
    let i = 0;
    const pgSql = sql.replace(/\?/g, () => `$${++i}`);
    const client = new pg.Client({ connectionString: target.databaseUrl });
    await client.connect();
    try {
      return (await client.query(pgSql, params)).rows;
    } finally {
      await client.end();
    }
  }
  return onSqliteFile(target.dir, (db) => {
    const stmt = db.prepare(sql);
    if (stmt.reader) return stmt.all(...params);
    stmt.run(...params);
    return [];
  });
}

/** How long a raw write waits for the server's write lock, retrying on a timer. */
const BUSY_WAIT_MS = 10_000;

/**
 * Runs `fn` on its own connection to the data dir's SQLite file. A write that finds the file
 * locked is retried on a timer, never by SQLite's own busy wait: that would block this thread,
 * and the server under test may run in this very process, holding the lock across a turn of its
 * event loop (group commit) that could then never come.
 */
async function onSqliteFile<T>(dir: string, fn: (db: Database.Database) => T): Promise<T> {
  const deadline = Date.now() + BUSY_WAIT_MS;
  for (;;) {
    const db = new Database(join(dir, 'countersign.db'), { timeout: 0 });
    try {
      return fn(db);
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw err;
    } finally {
      db.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Raw multi-statement DDL (triggers), engine-specific text. */
export async function rawExec(target: { dir: string; databaseUrl: string | undefined }, sqlite: string, postgres: string): Promise<void> {
  if (target.databaseUrl) {
    const client = new pg.Client({ connectionString: target.databaseUrl });
    await client.connect();
    try {
      await client.query(postgres);
    } finally {
      await client.end();
    }
    return;
  }
  // In one transaction: a retry after SQLITE_BUSY never finds half of the statements applied.
  await onSqliteFile(target.dir, (db) => db.transaction(() => db.exec(sqlite)).immediate());
}
