import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import canonicalize from 'canonicalize';

export interface Checkpoint {
  seq: number;
  headHash: string;
  ts: string;
  keyId: string;
  signature: string;
}

/** Signs checkpoints with the audit key (Ed25519). Only the process that writes the log holds it. */
export class CheckpointSigner {
  readonly keyId: string;
  readonly #privateKey: KeyObject;

  constructor(privateKeyPem: string) {
    this.#privateKey = createPrivateKey(privateKeyPem);
    if (this.#privateKey.asymmetricKeyType !== 'ed25519') throw new Error('the audit key must be an Ed25519 key');
    this.keyId = keyIdOf(createPublicKey(this.#privateKey));
  }

  sign(seq: number, headHash: string, ts: string): Checkpoint {
    const signature = sign(null, checkpointPayload(seq, headHash, ts, this.keyId), this.#privateKey).toString('base64url');
    return { seq, headHash, ts, keyId: this.keyId, signature };
  }
}

export function checkpointPayload(seq: number, headHash: string, ts: string, keyId: string): Buffer {
  return Buffer.from(canonicalize({ seq, headHash, ts, keyId }) ?? '', 'utf8');
}

/** Key id: first 16 hex chars of SHA-256 over the SPKI DER. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/**
 * Whether a checkpoint carries a valid signature from one of `publicKeys`, checked on libuv's
 * thread pool: a verifier checks every checkpoint while its own thread walks the chain. Resolves
 * false (never rejects) on an unknown key or any failure.
 */
export function verifyCheckpointInBackground(cp: Checkpoint, publicKeys: ReadonlyMap<string, KeyObject>): Promise<boolean> {
  const key = publicKeys.get(cp.keyId);
  if (!key) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      verify(null, checkpointPayload(cp.seq, cp.headHash, cp.ts, cp.keyId), key, Buffer.from(cp.signature, 'base64url'), (err, ok) =>
        resolve(!err && ok === true),
      );
    } catch {
      resolve(false);
    }
  });
}

export function generateAuditKeyPair(): { privateKeyPem: string; publicKeyPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

export function publicKeyMap(pems: string[]): Map<string, KeyObject> {
  const map = new Map<string, KeyObject>();
  for (const pem of pems) {
    const key = createPublicKey(pem);
    map.set(keyIdOf(key), key);
  }
  return map;
}

/** Every audit public key in a keys directory (audit.pub and rotated audit-*.pub) verifies checkpoints. */
export function auditPublicKeysIn(keysDir: string): Map<string, KeyObject> {
  return publicKeyMap(
    readdirSync(keysDir)
      .filter((n) => /^audit.*\.pub$/.test(n))
      .map((n) => readFileSync(join(keysDir, n), 'utf8')),
  );
}
