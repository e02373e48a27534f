// The tests' raw database helper against a server in this very process: SQLite's group commit
// holds the write lock across one turn of the event loop, so a raw write must wait for it on a
// timer; a busy wait inside SQLite would block that turn and fail with SQLITE_BUSY after 5 s.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { CheckpointSigner, generateAuditKeyPair } from '../src/audit/index.ts';
import { systemRuntime } from '../src/runtime.ts';
import { Store } from '../src/store/index.ts';
import { rawSql } from './support/raw-db.ts';
import { tempDir } from './support/server.ts';

test('a raw write waits for a commit that lingers a loop turn in this process, and both land', async () => {
  const dir = tempDir();
  const store = await Store.open({
    sqlitePath: join(dir, 'countersign.db'),
    runtime: systemRuntime,
    signer: new CheckpointSigner(generateAuditKeyPair().privateKeyPem),
    checkpointEvery: 1000,
  });
  try {
    await store.migrate();
    const tenant = 'tnt_raw';
    const appended = store.scope(tenant).audit({ actor: 'c', action: 'plan.read', outcome: 'allowed', resource: 'plan:lingering' });
    // Runs before the commit's own turn: the append's transaction is open and waiting for it.
    await new Promise((resolve) => setImmediate(resolve));
    const started = Date.now();
    await rawSql({ dir, databaseUrl: undefined }, 'insert into audit_head (id, seq, hash) values (2, 0, ?)', ['raw']);
    const entry = await appended;
    assert.equal(entry.resource, 'plan:lingering');
    assert.ok(Date.now() - started < 4_000, `the raw write took ${Date.now() - started} ms`);
    assert.deepEqual(await rawSql({ dir, databaseUrl: undefined }, 'select hash from audit_head where id = 2'), [{ hash: 'raw' }]);
  } finally {
    await store.close();
  }
});
