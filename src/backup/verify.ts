import { auditPublicKeysIn, type VerifyReport, verifyAuditChain } from '../audit/index.ts';
import type { Store } from '../store/index.ts';

/** Walks a store's whole hash chain and its signed checkpoints with the data directory's audit keys. */
export async function verifyStoreAudit(store: Store, keysDir: string): Promise<VerifyReport> {
  return verifyAuditChain({
    entries: store.auditPagesForVerification(),
    checkpoints: await store.listAuditCheckpoints(),
    head: await store.auditHead(),
    publicKeys: auditPublicKeysIn(keysDir),
  });
}
