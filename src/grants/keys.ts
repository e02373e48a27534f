import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyIdOf } from '../audit/index.ts';
import { CountersignError } from '../errors/index.ts';

/**
 * Grant keys live in `<dir>/keys`: `grant-<kid>.key` (private, 0600, only the API process reads
 * it), `grant-<kid>.pub` (the executor's pinned verification set) and `grant-current` naming the
 * signing key. Rotation adds a key and moves `grant-current`; old public keys stay so grants
 * already minted verify until they expire.
 */
export interface GrantSigningKey {
  kid: string;
  privateKey: KeyObject;
}

export function createGrantKey(keysDir: string): string {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const kid = keyIdOf(publicKey);
  writeFileSync(join(keysDir, `grant-${kid}.key`), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  writeFileSync(join(keysDir, `grant-${kid}.pub`), publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644, flag: 'wx' });
  writeFileSync(join(keysDir, 'grant-current'), `${kid}\n`, { mode: 0o600 });
  return kid;
}

export function loadGrantSigningKey(keysDir: string): GrantSigningKey {
  const currentFile = join(keysDir, 'grant-current');
  if (!existsSync(currentFile)) throw new CountersignError('CONFIG_INVALID', `no grant signing key: ${currentFile} is missing`);
  const kid = readFileSync(currentFile, 'utf8').trim();
  if (!/^[0-9a-f]{16}$/.test(kid)) throw new CountersignError('CONFIG_INVALID', `${currentFile} does not name a key id`);
  const privateKey = createPrivateKey(readFileSync(join(keysDir, `grant-${kid}.key`), 'utf8'));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new CountersignError('CONFIG_INVALID', 'the grant key must be Ed25519');
  if (keyIdOf(createPublicKey(privateKey)) !== kid)
    throw new CountersignError('CONFIG_INVALID', `grant key file does not match its id ${kid}`);
  return { kid, privateKey };
}

/** The pinned verification keys by id (invariant 7: keys are pinned, never taken from a token). */
export function loadGrantVerificationKeys(keysDir: string): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const name of readdirSync(keysDir)) {
    const m = /^grant-([0-9a-f]{16})\.pub$/.exec(name);
    if (!m?.[1]) continue;
    const key = createPublicKey(readFileSync(join(keysDir, name), 'utf8'));
    if (key.asymmetricKeyType !== 'ed25519' || keyIdOf(key) !== m[1]) {
      throw new CountersignError('CONFIG_INVALID', `${name} is not the Ed25519 key its name says`);
    }
    keys.set(m[1], key);
  }
  if (keys.size === 0) throw new CountersignError('CONFIG_INVALID', `no grant verification keys in ${keysDir}`);
  return keys;
}
