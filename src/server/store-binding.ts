import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { CheckpointSigner } from '../audit/index.ts';
import { type Config, loadConfig, urlPassword, withoutPassword, withPassword } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { type Runtime, systemRuntime } from '../runtime.ts';
import { Store } from '../store/index.ts';
import { type DataDirPaths, dataDirPaths, readText } from './datadir.ts';
import { keyPaths } from './key-location.ts';

/**
 * How a command uses the store: `create` is init alone (it may create the SQLite file); `write`
 * opens the existing store with the audit signer (serve, executor, operator commands); `read`
 * opens it read-only without the signer (audit verify/export, doctor, tool verify).
 */
export type StoreAccess = 'create' | 'write' | 'read';

export interface StoreOverrides {
  /** `--database-url`: may only reach the store the directory is bound to. */
  databaseUrl?: string;
  env?: NodeJS.ProcessEnv;
  runtime?: Runtime;
}

interface StoreTarget {
  /** postgres:// with the password, for the driver only; undefined = the SQLite file. */
  url: string | undefined;
  /** What the messages name (never a password). */
  description: string;
}

const mismatch = (message: string) => new CountersignError('STORE_BINDING_MISMATCH', message);

/** A URL given for this command: the flag, else the environment. */
function givenUrl(overrides: StoreOverrides): string | undefined {
  return overrides.databaseUrl || (overrides.env ?? process.env).COUNTERSIGN_DATABASE_URL || undefined;
}

export function describeStore(url: string | undefined, paths: DataDirPaths): string {
  return url ? `PostgreSQL ${withoutPassword(url)}` : `the SQLite file ${paths.database}`;
}

/** The configured PostgreSQL password: `database.password` (an env reference, already expanded) or `passwordFile`. */
function configuredPassword(paths: DataDirPaths, config: Readonly<Config>): string | undefined {
  const { password, passwordFile } = config.database;
  if (password !== undefined) return password;
  if (passwordFile === undefined) return undefined;
  const file = isAbsolute(passwordFile) ? passwordFile : join(paths.dir, passwordFile);
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    throw new CountersignError('CONFIG_INVALID', `database.passwordFile ${file} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  // Like libpq with ~/.pgpass: a password others may read is refused, not used.
  if ((mode & 0o077) !== 0) {
    throw new CountersignError('CONFIG_INVALID', `database.passwordFile ${file} is readable by others; run \`chmod 600 ${file}\``);
  }
  return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}

function resolveTarget(paths: DataDirPaths, config: Readonly<Config>, overrides: StoreOverrides): StoreTarget {
  const db = config.database;
  const given = givenUrl(overrides);
  if (db.engine === 'sqlite' && given) {
    throw mismatch(
      `${paths.dir} is bound to its embedded SQLite store (installation ${db.installationId}); it cannot open ${describeStore(given, paths)}. ` +
        'Drop --database-url and unset COUNTERSIGN_DATABASE_URL to use this directory, or run `countersign init --dir <new dir> --database-url …` for that database.',
    );
  }
  const url = db.engine === 'sqlite' ? undefined : given || db.url || undefined;
  if (db.engine === 'postgres' && !url) {
    throw new CountersignError(
      'CONFIG_INVALID',
      `${paths.dir} is bound to a PostgreSQL store (installation ${db.installationId}) but no URL is set: restore database.url in countersign.yaml or set COUNTERSIGN_DATABASE_URL`,
    );
  }
  if (!url) return { url: undefined, description: describeStore(undefined, paths) };
  const password = urlPassword(url) === '' && /^postgres(ql)?:\/\//.test(url) ? configuredPassword(paths, config) : undefined;
  return { url: password === undefined ? url : withPassword(url, password), description: describeStore(url, paths) };
}

/**
 * A bound directory opens only the store holding its installation id; an unbound one (made
 * before init recorded its store) refuses a store that another directory is bound to.
 */
async function verifyBinding(store: Store, paths: DataDirPaths, config: Readonly<Config>, target: StoreTarget): Promise<void> {
  const { engine, installationId, url } = config.database;
  const found = await store.installation();
  if (engine === undefined) {
    if (found) {
      throw mismatch(
        `${target.description} belongs to installation ${found.id}, and ${paths.dir} does not record it; open that store with the data directory init made for it`,
      );
    }
    return;
  }
  if (found?.id === installationId) return;
  const bound = `${paths.dir} is bound to installation ${installationId} (${engine === 'sqlite' ? describeStore(undefined, paths) : describeStore(url || undefined, paths)})`;
  const holds = found ? `holds installation ${found.id}` : 'holds no Countersign installation';
  throw mismatch(
    `${bound}, but ${target.description} ${holds}. ` +
      (engine === 'postgres'
        ? 'Point --database-url / COUNTERSIGN_DATABASE_URL at the recorded database (or drop them), or run `countersign init --dir <new dir>` for this one.'
        : 'Restore this directory’s countersign.db from a backup, or run `countersign init --dir <new dir>`.'),
  );
}

/**
 * Opens the store a data directory is bound to, as `access` allows. Every command goes
 * through here, so no command opens, creates or migrates a store the directory does not own.
 */
export async function openStore(dir: string, config: Readonly<Config>, overrides: StoreOverrides, access: StoreAccess): Promise<Store> {
  const paths = dataDirPaths(dir);
  const target = resolveTarget(paths, config, overrides);
  if (target.url === undefined && access !== 'create' && !existsSync(paths.database)) {
    throw new CountersignError(
      'NOT_INITIALIZED',
      `the store of ${paths.dir} is missing (${paths.database}); init creates it: restore it from a backup, or run \`countersign init --dir <new dir>\``,
    );
  }
  const store = await Store.open({
    databaseUrl: target.url,
    sqlitePath: paths.database,
    sqliteSynchronous: config.database.sqliteSynchronous,
    access,
    maxConnections: config.database.maxConnections,
    runtime: overrides.runtime ?? systemRuntime,
    signer: access === 'read' ? null : new CheckpointSigner(readText(keyPaths(paths, config).auditKey)),
    checkpointEvery: config.audit.checkpointEvery,
  });
  if (access === 'create') return store;
  try {
    await verifyBinding(store, paths, config, target);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/**
 * The store a data directory is bound to: its PostgreSQL URL (password included, for the driver
 * or pg_dump's environment only), or undefined for the SQLite file. Checks the binding rules
 * that openStore checks before it connects.
 */
export function boundStoreUrl(dir: string, config: Readonly<Config>, overrides: StoreOverrides = {}): string | undefined {
  return resolveTarget(dataDirPaths(dir), config, overrides).url;
}

/** Opens the directory's store read-only and closes it: `serve` checks this once before starting its two processes. */
export async function checkStoreBinding(dir: string, overrides: StoreOverrides = {}): Promise<void> {
  const config = loadConfig(dataDirPaths(dir).dir, overrides.env ?? process.env);
  await (await openStore(dir, config, overrides, 'read')).close();
}
