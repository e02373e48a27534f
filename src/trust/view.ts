import { z } from 'zod';
import type { TrustedKeyRecord } from '../store/index.ts';

export const AddTrustedKeySchema = z
  .object({
    /** The publisher's Ed25519 public key, SPKI PEM (the `.pub` file `tool keygen` writes). */
    publicKey: z.string().min(1).max(4096),
    /** A label for people: who publishes with this key. */
    name: z.string().trim().min(1).max(128).optional(),
    /** When given, must equal the key's id: guards against adding the wrong file. */
    keyId: z
      .string()
      .regex(/^[0-9a-f]{16}$/)
      .optional(),
  })
  .strict();

export const RemoveTrustedKeySchema = z.object({ reason: z.string().trim().min(1).max(2000).optional() }).strict();

export interface TrustedKeyView {
  keyId: string;
  name: string;
  publicKey: string;
  addedBy: string;
  addedAt: string;
  removedAt: string | null;
  removedBy: string | null;
}

export interface TrustListView {
  keys: TrustedKeyView[];
  /** The K-of-N policy from config: K per environment. */
  policy: { required: number; environments: Record<string, number> };
}

export function trustedKeyView(r: TrustedKeyRecord): TrustedKeyView {
  return {
    keyId: r.keyId,
    name: r.name,
    publicKey: r.publicKey,
    addedBy: r.addedBy,
    addedAt: r.addedAt,
    removedAt: r.removedAt,
    removedBy: r.removedBy,
  };
}
