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
  const db = new Database(join(target.dir, 'countersign.db'));
  try {
    const stmt = db.prepare(sql);
    if (stmt.reader) return stmt.all(...params);
    stmt.run(...params);
    return [];
  } finally {
    db.close();
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
  const db = new Database(join(target.dir, 'countersign.db'));
  try {
    db.exec(sqlite);
  } finally {
    db.close();
  }
}
