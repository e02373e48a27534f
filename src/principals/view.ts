import { z } from 'zod';
import type { Principal } from '../policy/index.ts';
import type { ApiKeyRecord, PrincipalRecord } from '../store/index.ts';

/** A principal as the API shows it (never a key secret). */
export const PrincipalViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(['human', 'agent']),
  groups: z.array(z.string()),
  disabled: z.boolean(),
  createdAt: z.string(),
});
export type PrincipalView = z.infer<typeof PrincipalViewSchema>;

/** A created principal with its first API key: the key is shown this once. */
export const CreatedPrincipalSchema = PrincipalViewSchema.extend({ key: z.string(), keyId: z.string() });
export type CreatedPrincipal = z.infer<typeof CreatedPrincipalSchema>;

export const PrincipalListSchema = z.object({ principals: z.array(PrincipalViewSchema) });
export type PrincipalList = z.infer<typeof PrincipalListSchema>;

/** An API key's record (never its secret). */
export const KeyViewSchema = z.object({
  id: z.string(),
  principal: z.string(),
  description: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type KeyView = z.infer<typeof KeyViewSchema>;

export const KeyListSchema = z.object({ keys: z.array(KeyViewSchema) });
export type KeyList = z.infer<typeof KeyListSchema>;

/** A created API key: the secret is shown this once. */
export const CreatedKeySchema = z.object({ id: z.string(), key: z.string(), principal: z.string() });
export type CreatedKey = z.infer<typeof CreatedKeySchema>;

/** The identity a credential resolves to (GET /v1/whoami). */
export const WhoamiSchema = z.object({
  tenantId: z.string(),
  id: z.string(),
  name: z.string(),
  kind: z.enum(['human', 'agent', 'system', 'webhook']),
  groups: z.array(z.string()).readonly(),
  /** How this identity was proven, for audit. */
  authMethod: z.enum(['api_key', 'oidc', 'system', 'webhook_signature', 'chat_link']),
});
// The principal type belongs to the policy domain; this keeps its view schema equal to it.
const _whoamiMatches: [Principal, z.infer<typeof WhoamiSchema>] extends [z.infer<typeof WhoamiSchema>, Principal] ? true : never = true;
void _whoamiMatches;

export const principalView = (p: PrincipalRecord): PrincipalView => ({
  id: p.id,
  name: p.name,
  kind: p.kind,
  groups: p.groups,
  disabled: p.disabled,
  createdAt: p.createdAt,
});

/** A key as listed: its id and metadata; the secret is shown once, at creation, and stored hashed. */
export const keyView = (k: ApiKeyRecord): KeyView => ({
  id: k.id,
  principal: k.principalId,
  description: k.description,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt,
  revokedAt: k.revokedAt,
});
