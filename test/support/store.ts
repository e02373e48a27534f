import { join } from 'node:path';
import { CheckpointSigner, generateAuditKeyPair } from '../../src/audit/index.ts';
import { systemRuntime } from '../../src/runtime.ts';
import { Store } from '../../src/store/index.ts';
import type { Engine } from './engines.ts';
import { tempDir } from './server.ts';

/**
 * A store on a fresh database of `engine` (a new SQLite file, or a new PostgreSQL database),
 * migrated unless told not to; `close()` closes it and drops the database. Signs checkpoints
 * with a throwaway audit key unless `signer: null`.
 */
export async function freshStore(
  engine: Engine,
  options: { signer?: CheckpointSigner | null; checkpointEvery?: number; migrate?: boolean } = {},
): Promise<{ store: Store; close(): Promise<void> }> {
  const db = await engine.fresh();
  const store = await Store.open({
    databaseUrl: db.databaseUrl,
    sqlitePath: join(tempDir('cs-store-'), 'store.db'),
    runtime: systemRuntime,
    signer: options.signer === undefined ? new CheckpointSigner(generateAuditKeyPair().privateKeyPem) : options.signer,
    ...(options.checkpointEvery ? { checkpointEvery: options.checkpointEvery } : {}),
  });
  if (options.migrate !== false) await store.migrate();
  return {
    store,
    async close() {
      await store.close();
      await db.drop();
    },
  };
}
