import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { VerifyReport } from '../audit/index.ts';
import { type Config, loadConfig } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { systemPrincipal } from '../operations/index.ts';
import { systemRuntime } from '../runtime.ts';
import {
  baselineAuthorizer,
  boundStoreUrl,
  dataDirPaths,
  hostPipelineFor,
  keyLocations,
  localOperator,
  openStore,
} from '../server/index.ts';
import { Store } from '../store/index.ts';
import { partialPath } from './backup.ts';
import { runPgTool } from './pg-tools.ts';
import { verifyStoreAudit } from './verify.ts';

export interface RestoreOptions {
  databaseUrl?: string;
  input: string;
  /** SQLite: replace an existing store (kept beside it as countersign.db.replaced-<time>). */
  force?: boolean;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  /** Told how many entries of the backup's audit chain were verified so far (a progress line). */
  onVerifyProgress?: (walked: number) => void;
}

export interface RestoreResult {
  engine: 'sqlite' | 'postgres';
  /** The replaced SQLite file, kept (never deleted by a restore); null when there was none. */
  replaced: string | null;
  audit: VerifyReport;
}

function chainRefused(report: VerifyReport): CountersignError {
  return new CountersignError(
    'AUDIT_CHAIN_BROKEN',
    `the backup's audit chain does not verify (at seq ${report.firstBadSeq}: ${report.message}); nothing was restored`,
  );
}

/**
 * `countersign restore`: puts a backup in place only after its audit chain verifies with this
 * data directory's audit keys and it holds this directory's installation — a server started
 * afterwards serves a store known to be intact. Stop the servers of the directory first.
 */
export async function restoreStore(dir: string, options: RestoreOptions): Promise<RestoreResult> {
  const paths = dataDirPaths(dir);
  const config = loadConfig(paths.dir, options.env ?? process.env);
  const url = boundStoreUrl(dir, config, { databaseUrl: options.databaseUrl, env: options.env });
  if (!existsSync(options.input)) throw new CountersignError('NOT_FOUND', `no backup at ${options.input}`);
  const restored = url ? await restorePostgres(dir, url, options) : await restoreSqlite(dir, config, options);
  try {
    await recordRestore(dir, restored, options);
  } catch (err) {
    // Not recorded, not restored: the store goes back to how the command found it.
    if (url) await emptyPublicSchema(url);
    else undoSqliteRestore(dataDirPaths(dir).database, restored.replaced);
    throw err;
  }
  return restored;
}

/**
 * The `store.restore` host operation, run on the restored store: its first entry after the
 * history it brought back says who restored what, from which file. Decided by the release's
 * baseline policies, like `policy upgrade`: a restore may precede a policy set that loads.
 */
async function recordRestore(dir: string, r: RestoreResult, options: RestoreOptions): Promise<void> {
  const paths = dataDirPaths(dir);
  const config = loadConfig(paths.dir, options.env ?? process.env);
  const store = await openStore(dir, config, { databaseUrl: options.databaseUrl, env: options.env }, 'write');
  try {
    await hostPipelineFor(paths.dir, store, config, systemRuntime, baselineAuthorizer()).run(
      'store.restore',
      systemPrincipal(),
      { operator: localOperator(), from: resolve(options.input), engine: r.engine, verifiedEntries: r.audit.entries, replaced: r.replaced },
      'host',
    );
  } finally {
    await store.close();
  }
}

function undoSqliteRestore(database: string, replaced: string | null): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(database + suffix, { force: true });
  if (!replaced) return;
  for (const suffix of ['-wal', '-shm']) if (existsSync(replaced + suffix)) renameSync(replaced + suffix, database + suffix);
  renameSync(replaced, database);
}

async function restoreSqlite(dir: string, config: Readonly<Config>, options: RestoreOptions): Promise<RestoreResult> {
  const paths = dataDirPaths(dir);
  const installationId = config.database.installationId;
  const staged = partialPath(paths.database);
  try {
    copyFileSync(options.input, staged);
    const db = new Database(staged, { fileMustExist: true });
    try {
      const check = db.pragma('integrity_check', { simple: true });
      if (check !== 'ok')
        throw new CountersignError(
          'AUDIT_CHAIN_BROKEN',
          `the backup is not an intact SQLite database (${String(check)}); nothing was restored`,
        );
    } catch (err) {
      if (err instanceof CountersignError) throw err;
      throw new CountersignError('BAD_REQUEST', `${options.input} is not a SQLite backup: ${(err as Error).message}`);
    } finally {
      db.close();
    }
    const store = await Store.open({ sqlitePath: staged, access: 'read', runtime: systemRuntime, signer: null });
    let audit: VerifyReport;
    try {
      const found = await store.installation();
      if (installationId !== undefined && found?.id !== installationId)
        throw new CountersignError(
          'STORE_BINDING_MISMATCH',
          `the backup holds installation ${found?.id ?? 'none'}, and ${paths.dir} is bound to ${installationId}; nothing was restored`,
        );
      audit = await verifyStoreAudit(store, keyLocations(paths, config).keys, { onProgress: options.onVerifyProgress });
    } finally {
      await store.close();
    }
    if (!audit.ok) throw chainRefused(audit);
    let replaced: string | null = null;
    if (existsSync(paths.database)) {
      if (!options.force)
        throw new CountersignError(
          'ALREADY_INITIALIZED',
          `${paths.database} exists; --force keeps it beside the restored one and puts the backup in its place`,
        );
      replaced = `${paths.database}.replaced-${(options.now ?? (() => new Date()))().toISOString().replace(/[:.]/g, '-')}`;
      // The WAL and shared-memory files belong to the old file: they move with it.
      for (const suffix of ['-wal', '-shm'])
        if (existsSync(paths.database + suffix)) renameSync(paths.database + suffix, replaced + suffix);
      renameSync(paths.database, replaced);
    }
    renameSync(staged, paths.database);
    return { engine: 'sqlite', replaced, audit };
  } finally {
    rmSync(staged, { force: true });
  }
}

/** Tables in the target's public schema: a restore goes only into an empty database. */
async function tablesIn(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query("select count(*)::int as n from pg_tables where schemaname = 'public'")).rows[0].n as number;
  } finally {
    await client.end();
  }
}

async function emptyPublicSchema(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('drop schema public cascade; create schema public');
  } finally {
    await client.end();
  }
}

async function restorePostgres(dir: string, url: string, options: RestoreOptions): Promise<RestoreResult> {
  const paths = dataDirPaths(dir);
  const config = loadConfig(paths.dir, options.env ?? process.env);
  if ((await tablesIn(url)) > 0)
    throw new CountersignError(
      'ALREADY_INITIALIZED',
      'the target database is not empty; restore into a new, empty database (createdb) and point the data directory at it',
    );
  await runPgTool('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', options.input], url);
  try {
    // openStore checks the binding (this directory's installation) and opens read-only.
    const store = await openStore(dir, config, { databaseUrl: options.databaseUrl, env: options.env }, 'read');
    try {
      const audit = await verifyStoreAudit(store, keyLocations(paths, config).keys, { onProgress: options.onVerifyProgress });
      if (!audit.ok) throw chainRefused(audit);
      return { engine: 'postgres', replaced: null, audit };
    } finally {
      await store.close();
    }
  } catch (err) {
    // A backup that fails its checks is taken out again: the database is left empty, as found.
    await emptyPublicSchema(url);
    throw err;
  }
}
