import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, sql } from 'kysely';
import { createSqliteDialect, ROWS_AS_ARRAYS } from './dialect.ts';

interface Db {
  t: { x: number };
}

const root = mkdtempSync(join(tmpdir(), 'cs-sqlite-busy-'));
after(() => rmSync(root, { recursive: true, force: true }));

function open(path: string, busyWaitMs?: number): Kysely<Db> {
  return new Kysely<Db>({ dialect: createSqliteDialect({ path, ...(busyWaitMs ? { busyWaitMs } : {}) }).dialect });
}

test('two connections in one process: the one waiting for the lock lets the holder finish, then writes', async () => {
  const path = join(root, 'two.db');
  const a = open(path);
  const b = open(path);
  try {
    await sql`create table t (x integer not null)`.execute(a);
    let holding!: () => void;
    const held = new Promise<void>((r) => {
      holding = r;
    });
    // A holds the write lock across a timer: it can only commit if this thread keeps running.
    const first = a.transaction().execute(async (trx) => {
      await trx.insertInto('t').values({ x: 1 }).execute();
      holding();
      await sleep(150);
      await trx.insertInto('t').values({ x: 2 }).execute();
    });
    await held;
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    // SQLite's own busy_timeout would sleep inside this call, A's timer could not fire, and B
    // would fail with SQLITE_BUSY when its wait ran out.
    const second = b.insertInto('t').values({ x: 3 }).execute();
    await Promise.all([first, second]);
    clearInterval(ticker);
    assert.ok(ticks > 0, 'the event loop ran while B waited');
    const rows = await a.selectFrom('t').select('x').orderBy(sql`rowid`).execute();
    assert.deepEqual(
      rows.map((r) => r.x),
      [1, 2, 3],
    );
  } finally {
    await a.destroy();
    await b.destroy();
  }
});

test('a lock that is never released fails the waiting statement with SQLITE_BUSY after the wait', async () => {
  const path = join(root, 'held.db');
  const k = open(path, 200);
  const holder = new Database(path);
  try {
    await sql`create table t (x integer not null)`.execute(k);
    holder.exec('begin immediate');
    await assert.rejects(k.insertInto('t').values({ x: 1 }).execute(), (err: { code?: string }) => err.code === 'SQLITE_BUSY');
    await assert.rejects(
      k.transaction().execute(async (trx) => trx.insertInto('t').values({ x: 1 }).execute()),
      (err: { code?: string }) => err.code === 'SQLITE_BUSY',
    );
    holder.exec('rollback');
    // Released: the same connection writes again.
    await k.insertInto('t').values({ x: 7 }).execute();
    assert.deepEqual(await k.selectFrom('t').select('x').execute(), [{ x: 7 }]);
  } finally {
    holder.close();
    await k.destroy();
  }
});

test('a query marked ROWS_AS_ARRAYS returns rows as arrays of values; the same SQL unmarked, objects', async () => {
  const db = open(join(root, 'arrays.db'));
  try {
    await sql`create table t (x integer, y text)`.execute(db);
    await sql`insert into t (x, y) values (1, 'one'), (2, 'two')`.execute(db);
    const select = 'select x, y from t where x > ? order by x';
    const arrays = await db.executeQuery(CompiledQuery.raw(`${ROWS_AS_ARRAYS}${select}`, [0]));
    assert.deepEqual(arrays.rows, [
      [1, 'one'],
      [2, 'two'],
    ]);
    // Both are prepared and kept by SQL text: the marked statement's mode never leaks into the other.
    const objects = await db.executeQuery(CompiledQuery.raw(select, [0]));
    assert.deepEqual(objects.rows, [
      { x: 1, y: 'one' },
      { x: 2, y: 'two' },
    ]);
    assert.deepEqual((await db.executeQuery(CompiledQuery.raw(`${ROWS_AS_ARRAYS}${select}`, [1]))).rows, [[2, 'two']]);
  } finally {
    await db.destroy();
  }
});
