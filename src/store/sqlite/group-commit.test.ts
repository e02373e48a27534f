import assert from 'node:assert/strict';
import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { createSqliteDialect } from './dialect.ts';
import { GroupCommit } from './group-commit.ts';

interface Db {
  parent: { id: number };
  child: { id: number; parent_id: number };
  t: { n: number; who: string };
}

const root = mkdtempSync(join(tmpdir(), 'cs-group-commit-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function open(name: string): Promise<Kysely<Db>> {
  const db = new Kysely<Db>({ dialect: createSqliteDialect({ path: join(root, name) }).dialect });
  await sql`create table t (n integer not null, who text not null)`.execute(db);
  await sql`create table parent (id integer primary key)`.execute(db);
  await sql`create table child (id integer primary key, parent_id integer not null references parent (id))`.execute(db);
  return db;
}

const rows = async (db: Kysely<Db>) => (await db.selectFrom('t').select(['n', 'who']).orderBy('n').execute()).map((r) => `${r.n}:${r.who}`);

test('transactions that arrive together share commits, run in order, and each sees the ones before it', async () => {
  const db = await open('order.db');
  try {
    const group = new GroupCommit(db);
    const seen = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        group.run(async (trx) => {
          const before = await trx.selectFrom('t').select('n').execute();
          await trx
            .insertInto('t')
            .values({ n: i, who: `tx${i}` })
            .execute();
          return before.length;
        }),
      ),
    );
    assert.deepEqual(
      seen,
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.equal((await rows(db)).length, 20);
    assert.ok(group.commits < group.transactions, `${group.commits} commits for ${group.transactions} transactions`);
  } finally {
    await db.destroy();
  }
});

test('one that throws is rolled back alone and gets its own error; the others commit', async () => {
  const db = await open('throws.db');
  try {
    const group = new GroupCommit(db);
    const results = await Promise.allSettled(
      [0, 1, 2, 3, 4].map((i) =>
        group.run(async (trx) => {
          await trx
            .insertInto('t')
            .values({ n: i, who: `tx${i}` })
            .execute();
          if (i === 0 || i === 2) throw new Error(`refused ${i}`);
          return i;
        }),
      ),
    );
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
      ['refused 0', 1, 'refused 2', 3, 4],
    );
    // The first ran without a savepoint: its batch rolled back whole, and the rest started anew.
    assert.deepEqual(await rows(db), ['1:tx1', '3:tx3', '4:tx4']);
  } finally {
    await db.destroy();
  }
});

test('a commit that fails fails every transaction it carried, and stores none of them', async () => {
  const db = await open('commit-fails.db');
  try {
    const group = new GroupCommit(db);
    // Holds the batch open until the others have queued behind it, so they share its commit.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = group.run(async (trx) => {
      await sql`pragma defer_foreign_keys = on`.execute(trx);
      // A child without its parent: allowed until COMMIT checks the deferred constraint.
      await trx.insertInto('child').values({ id: 1, parent_id: 404 }).execute();
      await held;
      return 'first';
    });
    const others = [1, 2].map((i) =>
      group.run(async (trx) => {
        await trx
          .insertInto('t')
          .values({ n: i, who: `tx${i}` })
          .execute();
        return i;
      }),
    );
    release();
    const results = await Promise.allSettled([first, ...others]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.match(String((r as PromiseRejectedResult).reason), /FOREIGN KEY/);
    }
    assert.deepEqual(await rows(db), []);
    assert.deepEqual(await db.selectFrom('child').selectAll().execute(), []);
    // The store goes on: the next transaction commits.
    assert.equal(await group.run(async (trx) => (await trx.insertInto('t').values({ n: 9, who: 'after' }).execute()).length), 1);
    assert.deepEqual(await rows(db), ['9:after']);
  } finally {
    await db.destroy();
  }
});

test('a transaction asked for in the next turn of the event loop joins the commit before it (the linger)', async () => {
  const db = await open('linger.db');
  try {
    // B is asked for by a callback of the loop's next turn, as a request read from a socket would be.
    const together = async (group: GroupCommit<Db>) => {
      const a = group.run(async (trx) => trx.insertInto('t').values({ n: 1, who: 'a' }).execute());
      const b = new Promise((resolve, reject) => {
        setImmediate(() => group.run(async (trx) => trx.insertInto('t').values({ n: 2, who: 'b' }).execute()).then(resolve, reject));
      });
      await Promise.all([a, b]);
      return { transactions: group.transactions, commits: group.commits };
    };
    assert.deepEqual(await together(new GroupCommit(db)), { transactions: 2, commits: 1 });
    // Without the linger the first commits before the loop turns: one commit each.
    assert.deepEqual(await together(new GroupCommit(db, undefined, false)), { transactions: 2, commits: 2 });
    assert.deepEqual(await rows(db), ['1:a', '1:a', '2:b', '2:b']);
    // A lone transaction still commits after its empty turn.
    const lone = new GroupCommit(db);
    await lone.run(async (trx) => trx.insertInto('t').values({ n: 3, who: 'lone' }).execute());
    assert.deepEqual({ transactions: lone.transactions, commits: lone.commits }, { transactions: 1, commits: 1 });
    assert.equal((await rows(db)).length, 5);
  } finally {
    await db.destroy();
  }
});

test("each transaction runs in its caller's async context", async () => {
  const db = await open('context.db');
  try {
    const group = new GroupCommit(db);
    const caller = new AsyncLocalStorage<string>();
    const seen = await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) =>
        caller.run(name, () =>
          group.run(async (trx) => {
            const before = caller.getStore();
            await trx.insertInto('t').values({ n: 1, who: name }).execute();
            return [before, caller.getStore()];
          }),
        ),
      ),
    );
    assert.deepEqual(seen, [
      ['a', 'a'],
      ['b', 'b'],
      ['c', 'c'],
      ['d', 'd'],
    ]);
  } finally {
    await db.destroy();
  }
});

test('a caller that asks again as soon as it hears back starts a drain of its own; drains never overlap', async () => {
  const db = await open('handoff.db');
  // Each context captured for a transaction queued behind a running drain is one such resource.
  let captured = 0;
  const hook = createHook({
    init: (_id, type) => {
      if (type === 'countersign.GroupCommit') captured++;
    },
  }).enable();
  try {
    const group = new GroupCommit(db);
    const caller = new AsyncLocalStorage<string>();
    let active = 0;
    let most = 0;
    const tx = (name: string, i: number) =>
      group.run(async (trx) => {
        active++;
        most = Math.max(most, active);
        const before = caller.getStore();
        await trx.insertInto('t').values({ n: i, who: name }).execute();
        await trx.selectFrom('t').select('n').limit(1).execute();
        active--;
        return before === name && caller.getStore() === name;
      });

    // One caller, one transaction after another: none waits behind a drain, none is captured.
    const alone = await caller.run('alone', async () => {
      const ok: boolean[] = [];
      for (let i = 0; i < 20; i++) ok.push(await tx('alone', i));
      return ok;
    });
    assert.deepEqual(alone, Array(20).fill(true));
    assert.equal(captured, 0);
    assert.deepEqual({ transactions: group.transactions, commits: group.commits }, { transactions: 20, commits: 20 });

    // Eight callers doing the same at once: drains hand over while others queue, one at a time.
    const chains = await Promise.all(
      Array.from({ length: 8 }, (_, c) =>
        caller.run(`c${c}`, async () => {
          const ok: boolean[] = [];
          for (let i = 0; i < 10; i++) ok.push(await tx(`c${c}`, 100 + i));
          return ok.every(Boolean);
        }),
      ),
    );
    assert.deepEqual(chains, Array(8).fill(true));
    assert.equal(most, 1, 'two transactions ran at once');
    assert.ok(captured > 0, 'no transaction was queued behind a running drain');
    assert.equal(group.transactions, 100);
    assert.ok(group.commits < group.transactions, `${group.commits} commits for ${group.transactions} transactions`);
    assert.equal((await rows(db)).length, 100);
  } finally {
    hook.disable();
    await db.destroy();
  }
});

test('a write lock held past the wait fails each waiting transaction in turn, and none hangs', async () => {
  const path = join(root, 'busy.db');
  const db = await open('busy.db');
  // The same file through a dialect that waits 50 ms for a busy lock instead of 10 s.
  const waiting = new Kysely<Db>({ dialect: createSqliteDialect({ path, busyWaitMs: 50 }).dialect });
  const holder = new Database(path);
  try {
    holder.exec('begin immediate');
    const group = new GroupCommit(waiting);
    const results = await Promise.allSettled(
      [1, 2, 3].map((i) => group.run(async (trx) => trx.insertInto('t').values({ n: i, who: 'blocked' }).execute())),
    );
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.match(String((r as PromiseRejectedResult).reason), /SQLITE_BUSY|database is locked/);
    }
    holder.exec('rollback');
    await group.run(async (trx) => trx.insertInto('t').values({ n: 4, who: 'after' }).execute());
    assert.deepEqual(await rows(db), ['4:after']);
  } finally {
    holder.close();
    await waiting.destroy();
    await db.destroy();
  }
});
