import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { VerifyReport } from '../audit/index.ts';
import { loadConfig } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { systemRuntime } from '../runtime.ts';
import { boundStoreUrl, dataDirPaths, keyLocations } from '../server/index.ts';
import { Store } from '../store/index.ts';
import { runPgTool } from './pg-tools.ts';
import { verifyStoreAudit } from './verify.ts';

export interface BackupOptions {
  databaseUrl?: string;
  output: string;
  env?: NodeJS.ProcessEnv;
}

export interface BackupResult {
  engine: 'sqlite' | 'postgres';
  output: string;
  bytes: number;
  /** The copy's own audit chain, verified (SQLite); null where checking needs a restore (a PostgreSQL dump). */
  audit: VerifyReport | null;
}

/** A file next to `target` that becomes `target` only when complete: no half-written backup under its final name. */
export function partialPath(target: string): string {
  return `${target}.partial-${randomBytes(4).toString('hex')}`;
}

/**
 * `countersign backup`: a consistent copy of the directory's store while it serves.
 *
 * SQLite: the online backup API, copying every page in one step. In WAL mode that step is one
 * read transaction, so the copy is a single consistent snapshot and writers are never blocked;
 * the copy's audit chain is then verified. PostgreSQL: pg_dump in its custom format, which
 * dumps from one snapshot (repeatable read) without blocking writers; `countersign restore`
 * verifies it. Keys are not in the store: back up the data directory's keys/ with your
 * secrets (docs/operations.md).
 */
export async function backupStore(dir: string, options: BackupOptions): Promise<BackupResult> {
  const paths = dataDirPaths(dir);
  const config = loadConfig(paths.dir, options.env ?? process.env);
  const url = boundStoreUrl(dir, config, { databaseUrl: options.databaseUrl, env: options.env });
  if (existsSync(options.output)) throw new CountersignError('CONFLICT', `${options.output} exists; a backup never overwrites a file`);
  const partial = partialPath(options.output);
  try {
    let audit: VerifyReport | null = null;
    if (url) {
      await runPgTool('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', '--file', partial], url);
    } else {
      if (!existsSync(paths.database))
        throw new CountersignError('NOT_INITIALIZED', `the store of ${paths.dir} is missing (${paths.database})`);
      const source = new Database(paths.database, { readonly: true, fileMustExist: true });
      try {
        // A huge page count per step: the whole copy is one step, one snapshot (see above).
        await source.backup(partial, { progress: () => 1 << 30 });
      } finally {
        source.close();
      }
      audit = await verifySqliteFile(partial, keyLocations(paths, config).keys);
    }
    chmodSync(partial, 0o600);
    renameSync(partial, options.output);
    return { engine: url ? 'postgres' : 'sqlite', output: options.output, bytes: statSync(options.output).size, audit };
  } finally {
    rmSync(partial, { force: true });
  }
}

/** Opens a SQLite store file read-only and verifies its audit chain with the directory's keys. */
export async function verifySqliteFile(file: string, keysDir: string): Promise<VerifyReport> {
  const store = await Store.open({ sqlitePath: file, access: 'read', runtime: systemRuntime, signer: null });
  try {
    return await verifyStoreAudit(store, keysDir);
  } finally {
    await store.close();
  }
}
