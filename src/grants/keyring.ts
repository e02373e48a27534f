import type { KeyObject } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { type GrantSigningKey, loadGrantSigningKey, loadGrantVerificationKeys } from './keys.ts';

/** Looks up a pinned verification key by id. */
export interface GrantKeyLookup {
  get(kid: string): KeyObject | undefined;
}

/**
 * Grant keys that rotate without downtime: the signer follows `grant-current` when it changes,
 * and verification re-reads the pinned public keys when it meets an id it does not know yet —
 * old keys keep verifying grants minted before the rotation until those expire. Keys only ever
 * come from the keys directory, never from a token.
 */
export class GrantKeyring implements GrantKeyLookup {
  #signing: GrantSigningKey | null = null;
  #signingStamp = '';
  #verify: Map<string, KeyObject>;
  #lastReload = 0;

  constructor(
    private readonly keysDir: string,
    private readonly withSigning: boolean,
  ) {
    this.#verify = loadGrantVerificationKeys(keysDir);
    if (withSigning) this.signingKey();
  }

  signingKey(): GrantSigningKey {
    if (!this.withSigning) throw new Error('this keyring has no signing key (executors only verify)');
    const st = statSync(join(this.keysDir, 'grant-current'));
    const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    if (!this.#signing || stamp !== this.#signingStamp) {
      this.#signing = loadGrantSigningKey(this.keysDir);
      this.#signingStamp = stamp;
      this.#verify = loadGrantVerificationKeys(this.keysDir);
    }
    return this.#signing;
  }

  get(kid: string): KeyObject | undefined {
    const key = this.#verify.get(kid);
    if (key || !/^[0-9a-f]{16}$/.test(kid)) return key;
    // An unknown well-formed id may be a key rotated in since we loaded: re-read, at most once a second.
    const now = Date.now();
    if (now - this.#lastReload < 1000) return undefined;
    this.#lastReload = now;
    this.#verify = loadGrantVerificationKeys(this.keysDir);
    return this.#verify.get(kid);
  }
}
