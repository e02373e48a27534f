// Replicas upgrade one at a time: a replica of the previous release, started on a schema a newer
// replica already migrated, runs on it (readiness: migrations current) instead of refusing; a
// release that lacks a migration the database needs while the database has one it does not know
// refuses to start.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Store } from '../../src/store/index.ts';
import { ENGINES } from '../support/engines.ts';
import { freshStore } from '../support/store.ts';

for (const engine of ENGINES) {
  describe(`schema compatibility on ${engine.name}`, { skip: engine.skip }, () => {
    let store: Store;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await freshStore(engine));
    });
    after(() => close?.());

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
