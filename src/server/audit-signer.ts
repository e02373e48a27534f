import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type AuditSigner, verifierKey } from '../audit/index.ts';
import { CountersignError } from '../errors/index.ts';
import { dataDirPaths, readText } from './datadir.ts';

/** The checkpoint origin and note key name: one per installation, from the id init recorded. */
export function checkpointOrigin(installationId: string | undefined): string {
  return `countersign/${installationId || 'local'}`;
}

/** Signs checkpoint notes with the data directory's audit key. */
export function auditNoteSigner(dir: string, installationId: string | undefined): AuditSigner {
  const paths = dataDirPaths(dir);
  if (!existsSync(paths.auditKey)) {
    throw new CountersignError(
      'NOT_INITIALIZED',
      `${paths.auditKey} is missing: checkpoints are signed with the audit key of the data directory`,
    );
  }
  const privateKey = createPrivateKey(readText(paths.auditKey));
  return { origin: checkpointOrigin(installationId), privateKey, publicKey: createPublicKey(privateKey) };
}

/** The audit log's verifier key (`<origin>+<key hash>+<key>`), from the data directory's public audit key. */
export function auditVerifierKey(dir: string, installationId: string | undefined): string {
  return verifierKey(checkpointOrigin(installationId), createPublicKey(readText(dataDirPaths(dir).auditPublicKey)));
}
