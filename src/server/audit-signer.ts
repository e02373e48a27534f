import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type AuditSigner, verifierKey } from '../audit/index.ts';
import type { Config } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { dataDirPaths, readText } from './datadir.ts';
import { keyLocations } from './key-location.ts';

/** The checkpoint origin and note key name: one per installation, from the id init recorded. */
export function checkpointOrigin(installationId: string | undefined): string {
  return `countersign/${installationId || 'local'}`;
}

/** Signs checkpoint notes with the installation's audit key (`keys.dir`, else `<dir>/keys`). */
export function auditNoteSigner(dir: string, config: Pick<Config, 'keys' | 'database'>): AuditSigner {
  const paths = keyLocations(dataDirPaths(dir), config);
  if (!existsSync(paths.auditKey)) {
    throw new CountersignError(
      'NOT_INITIALIZED',
      `${paths.auditKey} is missing: checkpoints are signed with the audit key of the data directory`,
    );
  }
  const privateKey = createPrivateKey(readText(paths.auditKey));
  return { origin: checkpointOrigin(config.database.installationId), privateKey, publicKey: createPublicKey(privateKey) };
}

/** The audit log's verifier key (`<origin>+<key hash>+<key>`), from the installation's public audit key. */
export function auditVerifierKey(dir: string, config: Pick<Config, 'keys' | 'database'>): string {
  const paths = keyLocations(dataDirPaths(dir), config);
  return verifierKey(checkpointOrigin(config.database.installationId), createPublicKey(readText(paths.auditPublicKey)));
}
