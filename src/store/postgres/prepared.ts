import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * Statements run as named prepared statements on PostgreSQL: SQL text → statement name.
 *
 * node-postgres sends every query unnamed, so the server parses and plans it on every run; for
 * the statements on every write's path (the audit append above all) planning costs more than
 * running them (measured here: the audit append 700–800 µs unnamed, 230–300 µs prepared). A
 * statement registered here is prepared once per connection and then only executed.
 *
 * Register only statements whose result columns are named (no `select *`): a prepared statement
 * fails with "cached plan must not change result type" once a migration adds a column to a table
 * it selects whole, and an older replica must keep working against a newer schema.
 */
const names = new Map<string, string>();

/** Marks `sql` to run prepared on every connection of every pool made by createPostgresDialect. */
export function prepareOnPostgres(sql: string): void {
  if (/\bselect\s+(\w+\.)?\*|"?\w+"?\.\*/i.test(sql)) {
    throw new Error('a statement that selects * cannot be prepared: a column added by a migration would break it');
  }
  if (!names.has(sql)) names.set(sql, `cs_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`);
}

/** The prepared statement's name for `sql`, if it is registered. */
export function preparedName(sql: string): string | undefined {
  return names.get(sql);
}

type Query = (...args: unknown[]) => unknown;

/**
 * Makes a pool client run registered statements by name (node-postgres prepares a name on a
 * connection the first time it is used there). Anything else passes through unchanged.
 */
export function runRegisteredPrepared(client: pg.PoolClient): void {
  const query = client.query.bind(client) as Query;
  (client as unknown as { query: Query }).query = (...args: unknown[]) => {
    const [text, values] = args;
    if (typeof text === 'string' && args.length === 2 && Array.isArray(values)) {
      const name = names.get(text);
      if (name !== undefined) return query({ name, text, values });
    }
    return query(...args);
  };
}
