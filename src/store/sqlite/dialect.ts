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
  /**
   * `normal` (the default, with WAL): a commit is atomic and the database never corrupts, but an
   * OS crash or power loss may lose the last commits — a change and its audit entry are lost
   * together, never one without the other. `full` syncs every commit to disk (slower).
   */
  synchronous?: 'full' | 'normal';
  /** Nothing in the file can change through this connection (read commands). */
  readOnly?: boolean;
  /** Refuse to create the file: only init makes a store. */
  mustExist?: boolean;
}

/** Most distinct SQL texts kept prepared; queries are built from a small fixed set of shapes. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every query anew; preparing is a large share of a small query's cost. The
 * database handed to Kysely reuses prepared statements by SQL text (bounded LRU). Safe because
 * Kysely's SQLite driver runs one query at a time on the single connection.
 */
function withStatementCache(db: Database.Database): SqliteDialectConfig['database'] {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => db.close(),
    prepare: (sql: string) => {
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql);
      } else {
        stmt = db.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) {
          const oldest = cache.keys().next().value;
          if (oldest !== undefined) cache.delete(oldest);
        }
      }
      cache.set(sql, stmt);
      return stmt as never;
    },
  };
}

export function createSqliteDialect(options: SqliteOptions): { dialect: SqliteDialect; close: () => void } {
  const db = new Database(options.path, { fileMustExist: options.mustExist ?? false });
  if (options.readOnly) {
    // Not the driver's readonly flag: a read-only handle on a WAL file leaves -wal and -shm files
    // behind, while query_only refuses every write and the close tidies up as usual.
    db.pragma('query_only = ON');
  } else {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  }
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 10000');
  return { dialect: new ImmediateSqliteDialect({ database: withStatementCache(db) }), close: () => db.close() };
}
