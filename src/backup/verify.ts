import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publicKeyMap, type VerifyReport, verifyAuditChain } from '../audit/index.ts';
import type { Store } from '../store/index.ts';

/** Every audit public key in keys/ (audit.pub and rotated audit-*.pub) verifies checkpoints. */
export function auditPublicKeys(keysDir: string): ReturnType<typeof publicKeyMap> {
  const pems = readdirSync(keysDir)
    .filter((n) => /^audit.*\.pub$/.test(n))
    .map((n) => readFileSync(join(keysDir, n), 'utf8'));
  return publicKeyMap(pems);
}

/** Walks a store's whole hash chain and its signed checkpoints with the data directory's audit keys. */
export async function verifyStoreAudit(store: Store, keysDir: string): Promise<VerifyReport> {
  return verifyAuditChain({
    entries: store.auditPagesForVerification(),
    checkpoints: await store.listAuditCheckpoints(),
    head: await store.auditHead(),
    publicKeys: auditPublicKeys(keysDir),
  });
}
