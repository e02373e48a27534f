import Database from 'better-sqlite3';
import { CompiledQuery, type DatabaseConnection, SqliteDialect, type SqliteDialectConfig, SqliteDriver } from 'kysely';

/**
 * SQLite transactions start with BEGIN IMMEDIATE: the write lock is taken up front, so two
 * processes (API and executor) never deadlock upgrading a read transaction (DESIGN.md Storage).
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): SqliteDriver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

export interface SqliteOptions {
  path: string;
  /** `full` survives power loss with every commit; `normal` (WAL) may lose the last commits but never corrupts. */
  synchronous?: 'full' | 'normal';
}

export function createSqliteDialect(options: SqliteOptions): { dialect: SqliteDialect; close: () => void } {
  const db = new Database(options.path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 10000');
  return { dialect: new ImmediateSqliteDialect({ database: db }), close: () => db.close() };
}
