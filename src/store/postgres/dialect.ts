import { PostgresDialect } from 'kysely';
import pg from 'pg';

const INT8_OID = 20;

export interface PostgresOptions {
  url: string;
  maxConnections?: number;
  /** Every session read-only (read commands): the server refuses any write. */
  readOnly?: boolean;
}

export function createPostgresDialect(options: PostgresOptions): { dialect: PostgresDialect; pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    ...(options.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
    // bigint columns (audit seq) come back as numbers; sequence numbers stay far below 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  return { dialect: new PostgresDialect({ pool }), pool };
}
