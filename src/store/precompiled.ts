import { type Compilable, type CompiledQuery, createQueryId, type Kysely, type QueryResult } from 'kysely';
import { prepareOnPostgres } from './postgres/prepared.ts';
import type { Database } from './schema.ts';

export type Engine = 'sqlite' | 'postgres';

/** Stands for a named parameter in the query `build` returns; replaced by its value on each run. */
export type Param = <T = unknown>(name: string) => T;

const SENTINEL_PREFIX = '\u0000countersign-param:';

/**
 * A query built and compiled once per engine, then run with new values: the statements on every
 * write's path (the audit append) skip Kysely's building and compiling, a tenth of a small write's
 * cost. `build` writes the query once with `param(name)` where each value goes; the compiled
 * SQL keeps a placeholder there, and `run` fills it from `values`. Any other value stays as built.
 * No Kysely plugin may rewrite these queries' results: the store installs none.
 */
export class Precompiled<V extends Record<string, unknown>> {
  readonly #build: (db: Kysely<Database>, param: Param, engine: Engine) => Compilable<unknown>;
  readonly #compiled = new Map<Engine, { query: CompiledQuery; slots: Array<{ name: string } | { value: unknown }> }>();
  readonly #prepared: boolean;

  /**
   * @param options.prepared on PostgreSQL, run it as a named prepared statement (planned once per
   *   connection; see postgres/prepared.ts): only for a statement whose result columns are named
   */
  constructor(build: (db: Kysely<Database>, param: Param, engine: Engine) => Compilable<unknown>, options: { prepared?: boolean } = {}) {
    this.#build = build;
    this.#prepared = options.prepared ?? false;
  }

  run<R>(db: Kysely<Database>, engine: Engine, values: V): Promise<QueryResult<R>> {
    const { query, slots } = this.#compile(db, engine);
    const parameters = slots.map((slot) => {
      if (!('name' in slot)) return slot.value;
      if (!Object.hasOwn(values, slot.name)) throw new Error(`precompiled query: no value for parameter "${slot.name}"`);
      return values[slot.name];
    });
    return db.executeQuery<R>({ query: query.query, sql: query.sql, parameters, queryId: createQueryId() });
  }

  /** The SQL this query runs on `engine` (tests and diagnostics). */
  sql(db: Kysely<Database>, engine: Engine): string {
    return this.#compile(db, engine).query.sql;
  }

  #compile(db: Kysely<Database>, engine: Engine) {
    let compiled = this.#compiled.get(engine);
    if (compiled) return compiled;
    const names = new Set<string>();
    const param: Param = <T>(name: string) => {
      names.add(name);
      return `${SENTINEL_PREFIX}${name}` as T;
    };
    const query = this.#build(db, param, engine).compile();
    const seen = new Set<string>();
    const slots = query.parameters.map((p) => {
      if (typeof p === 'string' && p.startsWith(SENTINEL_PREFIX)) {
        const name = p.slice(SENTINEL_PREFIX.length);
        seen.add(name);
        return { name };
      }
      return { value: p };
    });
    // A parameter Kysely folded into the SQL text (or dropped) would silently run with its sentinel.
    for (const name of names) if (!seen.has(name)) throw new Error(`precompiled query: parameter "${name}" is not a bound value`);
    if (query.sql.includes(SENTINEL_PREFIX)) throw new Error('precompiled query: a parameter was written into the SQL text');
    if (engine === 'postgres' && this.#prepared) prepareOnPostgres(query.sql);
    compiled = { query, slots };
    this.#compiled.set(engine, compiled);
    return compiled;
  }
}
