import { auditPublicKeysIn, type VerifyReport, verifyAuditChain } from '../audit/index.ts';
import type { SegmentOptions, Store } from '../store/index.ts';

/**
 * Walks a store's whole hash chain and its signed checkpoints with the data directory's audit
 * keys; a long SQLite chain in stretches on reader threads (`options.threads` at most), telling
 * `onProgress` how many entries were walked so far.
 */
export async function verifyStoreAudit(
  store: Store,
  keysDir: string,
  options: SegmentOptions & { onProgress?: (walked: number) => void } = {},
): Promise<VerifyReport> {
  return verifyAuditChain({
    segments: await store.auditVerificationSegments(options),
    checkpoints: await store.listAuditCheckpoints(),
    head: await store.auditHead(),
    publicKeys: auditPublicKeysIn(keysDir),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}
