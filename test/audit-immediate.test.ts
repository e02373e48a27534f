// SQLite: an audit entry recorded outside any transaction is appended at once on the store's idle
// connection (appendAuditNow), and steps aside — changing nothing — whenever the connection is
// in a transaction or another connection holds the write lock. What it writes is what the group
// commit's path writes: the same chain, the same checkpoints.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { type AuditRecord, CheckpointSigner, generateAuditKeyPair, publicKeyMap, verifyAuditChain } from '../src/audit/index.ts';
import { systemRuntime } from '../src/runtime.ts';
import { provisionTenant } from '../src/server/tenants.ts';
import { Store } from '../src/store/index.ts';
import { tempDir } from './support/server.ts';

const keys = generateAuditKeyPair();
const entry = (resource: string) => ({
  actor: 'prn_t',
  action: 'plan.read' as const,
  outcome: 'denied' as const,
  resource,
  details: { why: resource },
});

describe('audit entries appended at once on SQLite', () => {
  const path = join(tempDir('cs-immediate-'), 'store.db');
  let store: Store;
  let tenant: string;
  before(async () => {
    store = await Store.open({
      sqlitePath: path,
      runtime: systemRuntime,
      signer: new CheckpointSigner(keys.privateKeyPem),
      checkpointEvery: 5,
    });
    await store.migrate();
    tenant = (await provisionTenant(store, systemRuntime, 'immediate')).tenantId;
  });
  after(() => store?.close());

  const counts = () => (store.groupCommitCounts() as () => { transactions: number; commits: number })();
  const verify = async () => {
    const report = await verifyAuditChain({
      entries: store.iterateAuditForVerification(),
      checkpoints: await store.listAuditCheckpoints(),
      head: await store.auditHead(),
      publicKeys: publicKeyMap([keys.publicKeyPem]),
    });
    assert.equal(report.ok, true, report.message);
    return report;
  };
  const resources = async (after: number) => (await store.scope(tenant).listAudit(after, 1000)).map((e) => e.resource);

  test('entries alone and entries in transactions make one chain, checkpoints from both, stored as returned', async () => {
    const before = counts();
    const appended: AuditRecord[] = [];
    for (let i = 0; i < 12; i++) appended.push(await store.scope(tenant).audit(entry(`alone:${i}`)));
    for (let i = 0; i < 12; i++) appended.push(await store.transaction(tenant, (scope) => scope.audit(entry(`in-txn:${i}`))));
    const stored = await store.scope(tenant).listAudit(appended[0]!.seq - 1, 1000);
    assert.deepEqual(stored, appended);
    assert.deepEqual(
      appended.map((e) => e.seq),
      appended.map((_, i) => appended[0]!.seq + i),
    );
    // Each counted as a transaction and a commit, whichever way it went.
    assert.equal(counts().transactions - before.transactions, 24);
    const report = await verify();
    assert.ok(report.checkpoints >= 4, `${report.checkpoints} checkpoints`);
  });

  /** Records an entry while something holds the connection from it: it must wait until `release`, then land. */
  const waitsFor = async (resource: string, why: string, release: () => Promise<void> | void) => {
    let settled = false;
    const pending = store
      .scope(tenant)
      .audit(entry(resource))
      .finally(() => {
        settled = true;
      });
    await sleep(150);
    assert.equal(settled, false, `it did not wait for ${why}`);
    await release();
    const record = await pending;
    assert.equal((await resources(record.seq - 1))[0], resource);
    await verify();
  };
  const lastSeq = async () => (await store.scope(tenant).listAudit(0, 10_000)).at(-1)?.seq ?? 0;

  test('while another connection holds the write lock, an entry waits for it, then lands', async () => {
    const holder = new Database(path);
    try {
      holder.exec('begin immediate');
      await waitsFor('after-lock', 'the lock', () => void holder.exec('rollback'));
    } finally {
      holder.close();
    }
  });

  test('while a transaction of the store runs, an entry recorded alone commits after it, not inside it', async () => {
    const head = await lastSeq();
    let alone: Promise<AuditRecord> | null = null;
    await store.transaction(tenant, async (scope) => {
      await scope.audit(entry('txn:first'));
      alone = store.scope(tenant).audit(entry('alone:during'));
      await sleep(30);
      await scope.audit(entry('txn:second'));
    });
    await alone;
    assert.deepEqual(await resources(head), ['txn:first', 'txn:second', 'alone:during']);
    // A transaction the store runs without the group (the query builder's own) is waited for too.
    const db = store.kyselyForOperatorTooling;
    const mark = await lastSeq();
    await db.transaction().execute(async (trx) => {
      await sql`select 1`.execute(trx);
      alone = store.scope(tenant).audit(entry('alone:beside-builder'));
      await sleep(30);
      await sql`update tenants set name = name where id = ${tenant}`.execute(trx);
    });
    await alone;
    assert.deepEqual(await resources(mark), ['alone:beside-builder']);
    await verify();
  });

  test('while a streamed read holds the connection, an entry waits for it, then lands', async () => {
    const rows = store.kyselyForOperatorTooling.selectFrom('audit_log').select('seq').stream(1)[Symbol.asyncIterator]();
    assert.equal((await rows.next()).done, false);
    await waitsFor('after-stream', 'the read', async () => {
      await rows.return?.();
    });
  });

  test('a refused write changes nothing and fails the entry (invariant 11)', async () => {
    const mark = await lastSeq();
    // A trigger that refuses one resource: the entry's transaction rolls back whole, head included.
    const db = store.kyselyForOperatorTooling;
    await sql`create trigger refuse_one before insert on audit_log when new.resource = 'refused' begin select raise(abort, 'refused'); end`.execute(
      db,
    );
    try {
      await assert.rejects(store.scope(tenant).audit(entry('refused')), (err: { code?: string }) => err.code === 'AUDIT_WRITE_FAILED');
    } finally {
      await sql`drop trigger refuse_one`.execute(db);
    }
    const next = await store.scope(tenant).audit(entry('next'));
    assert.equal(next.seq, mark + 1, 'the refused entry left no gap and no moved head');
    assert.deepEqual(await resources(mark), ['next']);
    await verify();
  });
});
