import type { ApiKeyRecord, PrincipalRecord } from '../store/index.ts';

export interface PrincipalView {
  id: string;
  name: string;
  kind: 'human' | 'agent';
  groups: string[];
  disabled: boolean;
  createdAt: string;
}

export interface KeyView {
  id: string;
  principal: string;
  description: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

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
