import { PostgresDialect } from 'kysely';
import pg from 'pg';
import { runRegisteredPrepared } from './prepared.ts';

const INT8_OID = 20;

export interface PostgresOptions {
  url: string;
  maxConnections?: number;
  /** Every session read-only (read commands): the server refuses any write. */
  readOnly?: boolean;
  /**
   * Told of a connection the server or the network ended (a restart, a failover). The pool
   * drops that connection and opens a new one on next use; nothing else needs to happen.
   */
  onConnectionError?: (err: Error) => void;
}

/** How long a new connection may take before the query that needed it fails (then 503, retried). */
const CONNECT_TIMEOUT_MS = 5_000;

export function createPostgresDialect(options: PostgresOptions): { dialect: PostgresDialect; pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // A peer that vanished without a FIN (a partition) is found by TCP keepalive, not never.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(options.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
    // bigint columns (audit seq) come back as numbers; sequence numbers stay far below 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // A server restart ends every connection with `terminating connection due to administrator
  // command`. pg emits that as an `error` event — on the pool for idle clients, on the client
  // itself for one checked out — and an `error` event nobody listens to ends the process. The
  // query in flight still fails (and its caller retries or answers 503); the pool discards the
  // broken client on release (it is no longer queryable) and connects afresh on next use.
  const onError = options.onConnectionError ?? (() => undefined);
  pool.on('error', onError);
  pool.on('connect', (client) => {
    client.on('error', onError);
    runRegisteredPrepared(client);
  });
  return { dialect: new PostgresDialect({ pool }), pool };
}
