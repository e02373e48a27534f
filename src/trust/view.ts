import { z } from 'zod';

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
