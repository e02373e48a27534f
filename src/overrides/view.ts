import { z } from 'zod';
import { SignedOverrideSchema } from './document.ts';

/** A break-glass override as the API shows it. */
export const OverrideViewSchema = z.object({
  id: z.string(),
  status: z.enum(['active', 'used', 'revoked', 'expired']),
  environment: z.string(),
  tools: z.array(z.string()),
  actions: z.array(z.string()),
  reason: z.string(),
  issuedBy: z.string(),
  issuedAt: z.string(),
  expiresAt: z.string(),
  consumedAt: z.string().nullable(),
  executionId: z.string().nullable(),
  revokedAt: z.string().nullable(),
  revokedBy: z.string().nullable(),
  revokeReason: z.string().nullable(),
});
export type OverrideView = z.infer<typeof OverrideViewSchema>;

/** The answer to an issue: the view plus the signed document (pass it, or the id, to execute). */
export const IssuedOverrideSchema = OverrideViewSchema.extend({ signed: SignedOverrideSchema });
export type IssuedOverride = z.infer<typeof IssuedOverrideSchema>;

export const OverrideListSchema = z.object({ overrides: z.array(OverrideViewSchema) });
export type OverrideList = z.infer<typeof OverrideListSchema>;
