import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Precompiled } from './precompiled.ts';
import type { Database } from './schema.ts';
import { createSqliteDialect } from './sqlite/dialect.ts';

const root = mkdtempSync(join(tmpdir(), 'cs-precompiled-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function openHead(name: string): Promise<Kysely<Database>> {
  const db = new Kysely<Database>({ dialect: createSqliteDialect({ path: join(root, name) }).dialect });
  await sql`create table audit_head (id integer primary key, seq integer not null, hash text not null)`.execute(db);
  await db.insertInto('audit_head').values({ id: 1, seq: 0, hash: 'h0' }).execute();
  return db;
}

const SET_HEAD = new Precompiled<{ seq: number; hash: string }>((db, param) =>
  // id = 1 is a value of the query itself, kept as built; seq and hash come from each run.
  db
    .updateTable('audit_head')
    .set({ seq: param('seq'), hash: param('hash') })
    .where('id', '=', 1),
);
const HEAD = new Precompiled<{ id: number }>((db, param, engine) => {
  const q = db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', param<number>('id'));
  return engine === 'postgres' ? q.forUpdate() : q;
});

test('a precompiled query runs with each call’s values and keeps the values it was built with', async () => {
  const db = await openHead('run.db');
  try {
    for (const [seq, hash] of [
      [1, 'h1'],
      [2, 'h2'],
    ] as const) {
      await SET_HEAD.run(db, 'sqlite', { seq, hash });
      assert.deepEqual((await HEAD.run(db, 'sqlite', { id: 1 })).rows, [{ seq, hash }]);
    }
    assert.deepEqual((await HEAD.run(db, 'sqlite', { id: 2 })).rows, []);
  } finally {
    await db.destroy();
  }
});

test('inside a transaction it commits and rolls back with the transaction', async () => {
  const db = await openHead('trx.db');
  try {
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await SET_HEAD.run(trx, 'sqlite', { seq: 7, hash: 'h7' });
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.deepEqual((await HEAD.run(db, 'sqlite', { id: 1 })).rows, [{ seq: 0, hash: 'h0' }]);
    await db.transaction().execute((trx) => SET_HEAD.run(trx, 'sqlite', { seq: 8, hash: 'h8' }));
    assert.deepEqual((await HEAD.run(db, 'sqlite', { id: 1 })).rows, [{ seq: 8, hash: 'h8' }]);
  } finally {
    await db.destroy();
  }
});

test('refuses a run without a value for one of its parameters, and runs nothing', async () => {
  const db = await openHead('missing.db');
  try {
    await assert.rejects(
      async () => SET_HEAD.run(db, 'sqlite', { seq: 3 } as { seq: number; hash: string }),
      /no value for parameter "hash"/,
    );
    assert.deepEqual((await HEAD.run(db, 'sqlite', { id: 1 })).rows, [{ seq: 0, hash: 'h0' }]);
  } finally {
    await db.destroy();
  }
});

test('refuses a query whose parameter is written into the SQL text instead of bound', async () => {
  const db = await openHead('literal.db');
  try {
    const folded = new Precompiled<{ hash: string }>((kdb, param) =>
      kdb
        .updateTable('audit_head')
        .set({ hash: sql.lit(param<string>('hash')) })
        .where('id', '=', 1),
    );
    assert.throws(() => folded.sql(db, 'sqlite'), /parameter "hash" is not a bound value/);
  } finally {
    await db.destroy();
  }
});

test('each engine gets its own SQL: PostgreSQL numbered placeholders and the row lock', async () => {
  const sqlite = await openHead('engines.db');
  // Compiling needs only the dialect: this PostgreSQL instance never connects.
  const postgres = new Kysely<Database>({ dialect: new PostgresDialect({ pool: {} as never }) });
  try {
    assert.equal(HEAD.sql(sqlite, 'sqlite'), 'select "seq", "hash" from "audit_head" where "id" = ?');
    assert.equal(HEAD.sql(postgres, 'postgres'), 'select "seq", "hash" from "audit_head" where "id" = $1 for update');
  } finally {
    await sqlite.destroy();
  }
});
