import { z } from 'zod';
import type { TrustedKeyRecord } from '../store/index.ts';

/** A tool publisher key in the trust store. */
export const TrustedKeyViewSchema = z.object({
  keyId: z.string(),
  name: z.string(),
  /** Ed25519 SPKI PEM. */
  publicKey: z.string(),
  addedBy: z.string(),
  addedAt: z.string(),
  removedAt: z.string().nullable(),
  removedBy: z.string().nullable(),
});
export type TrustedKeyView = z.infer<typeof TrustedKeyViewSchema>;

export const TrustListViewSchema = z.object({
  keys: z.array(TrustedKeyViewSchema),
  /** The K-of-N policy from config: K per environment. */
  policy: z.object({ required: z.number().int(), environments: z.record(z.string(), z.number().int()) }),
});
export type TrustListView = z.infer<typeof TrustListViewSchema>;

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
