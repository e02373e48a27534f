import { createPublicKey, type KeyObject } from 'node:crypto';
import { keyIdOf } from '../audit/index.ts';
import type { TrustedKeyRecord } from '../store/index.ts';

/** Where the current trust store is read from: a scope's `installationTrust`, in or out of a transaction. */
export interface TrustStoreReader {
  active(): Promise<TrustedKeyRecord[]>;
}

function parse(r: TrustedKeyRecord): { pem: string; key: KeyObject } | null {
  try {
    const key = createPublicKey(r.publicKey);
    if (key.asymmetricKeyType !== 'ed25519' || keyIdOf(key) !== r.keyId) return null;
    return { pem: r.publicKey, key };
  } catch {
    return null;
  }
}

/**
 * Turns trust store rows into key objects, re-parsing a PEM only when it is new. Holds exactly
 * the keys trusted at the last read, so it never grows beyond the trust store.
 */
export class TrustedKeyCache {
  #parsed = new Map<string, { pem: string; key: KeyObject }>();

  async current(reader: TrustStoreReader): Promise<Map<string, KeyObject>> {
    return this.fromRecords(await reader.active());
  }

  fromRecords(records: readonly TrustedKeyRecord[]): Map<string, KeyObject> {
    const next = new Map<string, { pem: string; key: KeyObject }>();
    const keys = new Map<string, KeyObject>();
    for (const r of records) {
      const cached = this.#parsed.get(r.keyId);
      const entry = cached && cached.pem === r.publicKey ? cached : parse(r);
      // A row whose id is not its key's hash was not written by Countersign: it trusts nothing.
      if (!entry) continue;
      next.set(r.keyId, entry);
      keys.set(r.keyId, entry.key);
    }
    this.#parsed = next;
    return keys;
  }
}
