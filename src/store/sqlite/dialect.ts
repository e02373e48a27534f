import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { CompiledQuery, type DatabaseConnection, type QueryResult, SqliteDialect, type SqliteDialectConfig, SqliteDriver } from 'kysely';

/** How long a statement waits, by default, for another connection's write lock before it fails (SQLITE_BUSY). */
export const BUSY_WAIT_MS = 10_000;
/** The longest pause between two tries while waiting. */
const BUSY_PAUSE_MAX_MS = 25;

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_RECOVERY';
}

/**
 * Waits for a busy database without blocking the event loop. SQLite's own busy_timeout sleeps
 * inside the statement, on this thread: when the connection holding the lock lives in the same
 * process (an embedded executor, a test's second store), it cannot finish while this thread
 * sleeps, and the wait runs to its timeout. Here the connection's busy_timeout is 0 and a busy
 * statement is tried again after a short timer until BUSY_WAIT_MS have passed. A statement that
 * returned SQLITE_BUSY changed nothing, so trying it again is safe.
 */
class AsyncBusyConnection implements DatabaseConnection {
  readonly #inner: DatabaseConnection;
  readonly #waitMs: number;
  constructor(inner: DatabaseConnection, waitMs: number) {
    this.#inner = inner;
    this.#waitMs = waitMs;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    let deadline = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#inner.executeQuery<R>(query);
      } catch (err) {
        if (!isBusy(err)) throw err;
        if (deadline === 0) deadline = Date.now() + this.#waitMs;
        else if (Date.now() >= deadline) throw err;
        await sleep(Math.min(2 ** attempt, BUSY_PAUSE_MAX_MS));
      }
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.#inner.streamQuery<R>(query, chunkSize);
  }
}

/**
 * SQLite transactions start with BEGIN IMMEDIATE: the write lock is taken up front, so two
 * processes (API and executor) never deadlock upgrading a read transaction (DESIGN.md Storage).
 * Every statement, BEGIN IMMEDIATE included, waits for a busy database asynchronously.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  readonly #busyWaitMs: number;
  #wrapped: { inner: DatabaseConnection; outer: AsyncBusyConnection } | null = null;

  constructor(config: SqliteDialectConfig, busyWaitMs: number) {
    super(config);
    this.#busyWaitMs = busyWaitMs;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await super.acquireConnection();
    if (this.#wrapped?.inner !== inner) this.#wrapped = { inner, outer: new AsyncBusyConnection(inner, this.#busyWaitMs) };
    return this.#wrapped.outer;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #busyWaitMs: number;
  constructor(config: SqliteDialectConfig, busyWaitMs: number) {
    super(config);
    this.#config = config;
    this.#busyWaitMs = busyWaitMs;
  }
  override createDriver(): SqliteDriver {
    return new ImmediateSqliteDriver(this.#config, this.#busyWaitMs);
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
  /** How long a statement waits for another connection's lock (BUSY_WAIT_MS unless set). */
  busyWaitMs?: number;
}

/**
 * A query whose SQL text starts with this comment returns each row as an array of its column
 * values in select order (better-sqlite3's raw mode), not as an object: reading a long table
 * (the audit chain, for verification) then costs a fraction as much. Reads only.
 */
export const ROWS_AS_ARRAYS = '/* rows as arrays */ ';

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
        if (sql.startsWith(ROWS_AS_ARRAYS)) stmt.raw(true);
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

export function createSqliteDialect(options: SqliteOptions): {
  dialect: SqliteDialect;
  close: () => void;
  /** The connection itself, for statements that run at once without the query builder (appendAuditNow). */
  connection: Database.Database;
} {
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
  // No waiting inside SQLite (it would block this thread): AsyncBusyConnection waits instead.
  db.pragma('busy_timeout = 0');
  return {
    dialect: new ImmediateSqliteDialect({ database: withStatementCache(db) }, options.busyWaitMs ?? BUSY_WAIT_MS),
    close: () => db.close(),
    connection: db,
  };
}
