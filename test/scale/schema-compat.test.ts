// Replicas upgrade one at a time: a replica of the previous release, started on a schema a newer
// replica already migrated, runs on it (readiness: migrations current) instead of refusing; a
// release that lacks a migration the database needs while the database has one it does not know
// refuses to start.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { CheckpointSigner, generateAuditKeyPair } from '../../src/audit/index.ts';
import { systemRuntime } from '../../src/runtime.ts';
import { Store } from '../../src/store/index.ts';
import { ENGINES } from '../support/engines.ts';
import { tempDir } from '../support/server.ts';

for (const engine of ENGINES) {
  describe(`schema compatibility on ${engine.name}`, { skip: engine.skip }, () => {
    let store: Store;
    let drop: () => Promise<void>;
    before(async () => {
      const db = await engine.fresh();
      drop = db.drop;
      store = await Store.open({
        databaseUrl: db.databaseUrl,
        sqlitePath: join(tempDir(), 'compat.db'),
        runtime: systemRuntime,
        signer: new CheckpointSigner(generateAuditKeyPair().privateKeyPem),
      });
      await store.migrate();
    });
    after(async () => {
      await store?.close();
      await drop?.();
    });

    test('a replica of the previous release runs on a schema a newer release migrated', async () => {
      const db = store.kyselyForOperatorTooling;
      await sql`insert into kysely_migration (name, timestamp) values ('9999_next_release', ${new Date().toISOString()})`.execute(db);
      assert.deepEqual(await store.migrate(), [], 'nothing to run, and no refusal');
      assert.deepEqual(await store.migrationState(), { pending: [], newer: ['9999_next_release'] });
    });

    test('a release missing a migration the database needs, behind a newer one, refuses', async () => {
      const db = store.kyselyForOperatorTooling;
      await sql`delete from kysely_migration where name = '0012_scale'`.execute(db);
      await assert.rejects(store.migrate(), (err: any) => err.code === 'STORE_UNAVAILABLE' && /0012_scale/.test(err.message));
      assert.deepEqual((await store.migrationState()).pending, ['0012_scale']);
    });
  });
}
