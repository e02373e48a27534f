import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyIdOf } from '../audit/index.ts';
import { CountersignError } from '../errors/index.ts';

/**
 * The override key: a dedicated Ed25519 pair in `<dir>/keys/` (`override.key` 0600, read only by
 * the API process; `override.pub`, which executors use to re-verify). Dedicated rather than the
 * grant key so that a key that mints single-plan grants can never mint approval-free authority.
 */
export const OVERRIDE_PRIVATE_KEY = 'override.key';
export const OVERRIDE_PUBLIC_KEY = 'override.pub';

export interface OverrideSigningKey {
  keyId: string;
  privateKey: KeyObject;
}

export function createOverrideKey(keysDir: string): string {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(keysDir, OVERRIDE_PRIVATE_KEY), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  writeFileSync(join(keysDir, OVERRIDE_PUBLIC_KEY), publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644, flag: 'wx' });
  return keyIdOf(publicKey);
}

export function hasOverrideKey(keysDir: string): boolean {
  return existsSync(join(keysDir, OVERRIDE_PRIVATE_KEY));
}

export function loadOverrideSigningKey(keysDir: string): OverrideSigningKey {
  const file = join(keysDir, OVERRIDE_PRIVATE_KEY);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CountersignError('CONFIG_INVALID', `cannot read the override key ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new CountersignError('CONFIG_INVALID', `${file} is not an Ed25519 key`);
  return { keyId: keyIdOf(createPublicKey(privateKey)), privateKey };
}

/** Every `override*.pub` in the keys directory, by key id (rotated keys keep verifying). */
export function loadOverrideVerificationKeys(keysDir: string): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const name of readdirSync(keysDir)) {
    if (!/^override.*\.pub$/.test(name)) continue;
    const key = createPublicKey(readFileSync(join(keysDir, name), 'utf8'));
    if (key.asymmetricKeyType !== 'ed25519') throw new CountersignError('CONFIG_INVALID', `${name} is not an Ed25519 key`);
    keys.set(keyIdOf(key), key);
  }
  return keys;
}
