// The statements on every write's path run as named prepared statements on PostgreSQL: planned
// once per connection, and still right after a migration adds columns to the tables they read.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CompiledQuery, Kysely, sql } from 'kysely';
import { createPostgresDialect } from '../src/store/postgres/dialect.ts';
import { preparedName, prepareOnPostgres } from '../src/store/postgres/prepared.ts';
import { Precompiled } from '../src/store/precompiled.ts';
import type { Database } from '../src/store/schema.ts';
import { ENGINES, freshPostgresDatabase } from './support/engines.ts';

const postgres = ENGINES.find((e) => e.name === 'postgres');

test('a statement that selects * is refused for preparing', () => {
  assert.throws(() => prepareOnPostgres('select * from trusted_keys'), /selects \*/);
  assert.throws(() => prepareOnPostgres('select "k".*, "p"."id" from "api_keys" as "k"'), /selects \*/);
  // Precompiled refuses it when it compiles for PostgreSQL (compiling connects to nothing).
  const offline = new Kysely<Database>({ dialect: createPostgresDialect({ url: 'postgres://nobody@127.0.0.1:1/none' }).dialect });
  const everything = new Precompiled((kdb) => kdb.selectFrom('trusted_keys').selectAll(), { prepared: true });
  assert.throws(() => everything.sql(offline, 'postgres'), /selects \*/);
  assert.match(new Precompiled((kdb) => kdb.selectFrom('trusted_keys').selectAll()).sql(offline, 'postgres'), /select \*/);
});

describe('prepared statements on PostgreSQL', { skip: postgres?.skip ?? 'no PostgreSQL engine' }, () => {
  let db: Kysely<Database>;
  let drop: () => Promise<void>;

  // One connection, so the session the statements were prepared in is the one asked about them.
  before(async () => {
    const fresh = await freshPostgresDatabase();
    drop = fresh.drop;
    db = new Kysely<Database>({ dialect: createPostgresDialect({ url: fresh.databaseUrl, maxConnections: 1 }).dialect });
    await sql`create table widgets (id text primary key, name text not null)`.execute(db);
  });
  after(async () => {
    await db?.destroy();
    await drop?.();
  });

  const WIDGET = new Precompiled<{ id: string }>(
    (kdb, param) =>
      (kdb as unknown as Kysely<{ widgets: { id: string; name: string } }>)
        .selectFrom('widgets')
        .select(['id', 'name'])
        .where('id', '=', param<string>('id')) as never,
    { prepared: true },
  );
  const preparedHere = async () =>
    (await db.executeQuery<{ name: string }>(CompiledQuery.raw('select name from pg_prepared_statements'))).rows.map((r) => r.name);

  test('a registered statement is prepared once on its connection and then run by name', async () => {
    await sql`insert into widgets values ('w1', 'one'), ('w2', 'two')`.execute(db);
    assert.deepEqual((await WIDGET.run(db, 'postgres', { id: 'w1' })).rows, [{ id: 'w1', name: 'one' }]);
    const name = preparedName(WIDGET.sql(db, 'postgres'));
    assert.ok(name, 'the statement is registered');
    assert.ok((await preparedHere()).includes(name), 'the server holds it under its name');
    assert.deepEqual((await WIDGET.run(db, 'postgres', { id: 'w2' })).rows, [{ id: 'w2', name: 'two' }]);
    // An unregistered statement still runs unnamed.
    const before = await preparedHere();
    await sql`select count(*) from widgets`.execute(db);
    assert.deepEqual(await preparedHere(), before);
  });

  test('it keeps working after a migration adds a column to the table it reads (an older replica, a newer schema)', async () => {
    await WIDGET.run(db, 'postgres', { id: 'w1' });
    await sql`alter table widgets add column colour text`.execute(db);
    assert.deepEqual((await WIDGET.run(db, 'postgres', { id: 'w1' })).rows, [{ id: 'w1', name: 'one' }]);
    // What `select *` would have done: the reason such statements are refused above.
    await db.executeQuery(CompiledQuery.raw('prepare cs_test_star as select * from widgets where id = $1'));
    await db.executeQuery(CompiledQuery.raw("execute cs_test_star('w1')"));
    await sql`alter table widgets add column size int`.execute(db);
    await assert.rejects(db.executeQuery(CompiledQuery.raw("execute cs_test_star('w1')")), /cached plan must not change result type/);
  });
});
