import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys look like `csk_<26-char id>_<43-char secret>`. Only SHA-256 of the secret is stored
 * (invariant 15); the secret carries 256 random bits, so a fast hash is enough against guessing.
 */
const KEY_PATTERN = /^csk_([0-9a-z]{26})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKey {
  /** Stored id (`key_…`). */
  id: string;
  /** The full key, shown once. */
  token: string;
  secretHash: string;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function generateApiKey(newId: (prefix: string) => string): NewApiKey {
  const id = newId('key');
  const secret = randomBytes(32).toString('base64url');
  return { id, token: `csk_${id.slice(4)}_${secret}`, secretHash: hashSecret(secret) };
}

/** Splits a presented key; returns null for anything not of the exact shape. */
export function parseApiKey(token: string): { id: string; secret: string } | null {
  const m = KEY_PATTERN.exec(token);
  if (!m?.[1] || !m[2]) return null;
  return { id: `key_${m[1]}`, secret: m[2] };
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
