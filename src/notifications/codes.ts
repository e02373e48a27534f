import { createHash, randomBytes } from 'node:crypto';

/**
 * One-time chat codes (link codes, decision buttons): 128 random bits, base64url, 22 characters,
 * so `cs:<code>` fits Telegram's 64-byte callback_data. Only the SHA-256 is stored.
 */
export function newChatCode(): string {
  return randomBytes(16).toString('base64url');
}

export function chatCodeHash(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}
