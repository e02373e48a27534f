import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import type { DataDirPaths } from './datadir.ts';

const refuse = (message: string) => new CountersignError('CONFIG_INVALID', message);

/**
 * The directory's paths with the keys where countersign.yaml says they are (`keys.dir`, a secret
 * path replicas share; `<dir>/keys` by default), checked before a server or executor uses them:
 * a private key (`*.key`) other users may read or write, or a keys directory others may write
 * (where anyone could plant a key), stops the start — the rule ssh applies to its keys. The
 * directory may be read-only: nothing here writes to it.
 */
export function keyPaths(paths: DataDirPaths, config: Readonly<Config>): DataDirPaths {
  const keys = keyLocations(paths, config).keys;
  const where = config.keys.dir === '' ? keys : `${keys} (keys.dir in countersign.yaml)`;
  let dirMode: number;
  try {
    const info = statSync(keys);
    if (!info.isDirectory()) throw refuse(`the keys directory ${where} is not a directory`);
    dirMode = info.mode;
  } catch (err) {
    if (err instanceof CountersignError) throw err;
    throw refuse(`the keys directory ${where} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if ((dirMode & 0o002) !== 0)
    throw refuse(`the keys directory ${where} may be written by other users (mode ${(dirMode & 0o777).toString(8)}); run chmod o-w on it`);
  for (const name of readdirSync(keys).filter((n) => n.endsWith('.key'))) {
    // Followed through symbolic links: a Kubernetes secret volume links each file into `..data/`.
    const mode = statSync(join(keys, name)).mode;
    if ((mode & 0o007) !== 0) {
      throw refuse(
        `the private key ${join(keys, name)} is accessible to other users (mode ${(mode & 0o777).toString(8)}); run chmod o-rwx on it (or set the secret volume's defaultMode to 0400 or 0440)`,
      );
    }
  }
  return keyLocations(paths, config);
}

/**
 * Where the keys are, as countersign.yaml says (`keys.dir`, else `<dir>/keys`), without the start
 * checks: for the tools that only read them (audit verify, doctor, backup, restore, checkpoints).
 */
export function keyLocations(paths: DataDirPaths, config: Pick<Config, 'keys'>): DataDirPaths {
  const keys = config.keys.dir === '' ? paths.keys : config.keys.dir;
  return { ...paths, keys, auditKey: join(keys, 'audit.key'), auditPublicKey: join(keys, 'audit.pub') };
}
