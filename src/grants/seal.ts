import { sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { GrantKeyLookup, GrantKeyring } from './keyring.ts';

/**
 * Server seals (invariant 20): facts the decision to run depends on that the hashed plan document
 * does not fix — the plan's risk, approval requirement and expiry, each review — are signed when
 * they are written, with the grant key (not in the database). Someone who can write the database
 * but holds none of the server's keys cannot forge a seal, so an edited or inserted row is refused.
 *
 * The signed text is `countersign-seal/v1\n<kind>\n<RFC 8785 JSON of the fields>`: it can never
 * be read as a grant (a JWS signs `base64url(header).base64url(payload)`), so the one key serves
 * both without one standing in for the other.
 */
const PREFIX = 'countersign-seal/v1';

export type SealKind = 'plan' | 'review';

function signingText(kind: SealKind, fields: Record<string, unknown>): Buffer {
  return Buffer.from(`${PREFIX}\n${kind}\n${canonicalize(fields)}`, 'utf8');
}

/** Signs with the current grant key: `<kid>.<base64url signature>`. */
export function sealFields(keys: GrantKeyring, kind: SealKind, fields: Record<string, unknown>): string {
  const key = keys.signingKey();
  return `${key.kid}.${sign(null, signingText(kind, fields), key.privateKey).toString('base64url')}`;
}

/** True only for a well-formed seal by a pinned grant key over exactly these fields. */
export function sealHolds(keys: GrantKeyLookup, kind: SealKind, fields: Record<string, unknown>, seal: string | null): boolean {
  if (!seal) return false;
  const m = /^([0-9a-f]{16})\.([A-Za-z0-9_-]{40,200})$/.exec(seal);
  if (!m) return false;
  const key = keys.get(m[1]!);
  if (!key) return false;
  try {
    return verify(null, signingText(kind, fields), key, Buffer.from(m[2]!, 'base64url'));
  } catch {
    return false;
  }
}
