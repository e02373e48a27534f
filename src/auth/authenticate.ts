import { CountersignError } from '../errors/index.ts';
import type { Principal } from '../policy/types.ts';
import type { Runtime } from '../runtime.ts';
import type { Store } from '../store/index.ts';
import { parseApiKey, secretMatches } from './api-keys.ts';

export interface AuthenticationFailure {
  reason: 'missing' | 'malformed' | 'unknown_key' | 'bad_secret' | 'revoked' | 'disabled' | 'unsupported_scheme';
}

/**
 * Resolves a bearer credential to a principal. The tenant comes from the stored key, never from
 * the request (invariant 3). Every failure is the same 401 to the caller; the reason is audited.
 */
export class Authenticator {
  readonly #lastUsedWrites = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly runtime: Runtime,
  ) {}

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const fail = (reason: AuthenticationFailure['reason']): never => {
      throw new CountersignError('UNAUTHENTICATED', 'a valid API key is required (Authorization: Bearer csk_…)', { details: { reason } });
    };
    if (!authorization) return fail('missing');
    const [scheme, token, ...rest] = authorization.trim().split(/\s+/);
    if (scheme?.toLowerCase() !== 'bearer' || !token || rest.length > 0) return fail('unsupported_scheme');
    const parsed = parseApiKey(token);
    if (!parsed) return fail('malformed');
    const found = await this.store.findApiKeyForAuthentication(parsed.id);
    if (!found) return fail('unknown_key');
    if (!secretMatches(parsed.secret, found.key.secretHash)) return fail('bad_secret');
    if (found.key.revokedAt) return fail('revoked');
    if (found.principal.disabled) return fail('disabled');
    await this.#touch(found.key.id);
    return {
      tenantId: found.principal.tenantId,
      id: found.principal.id,
      name: found.principal.name,
      kind: found.principal.kind,
      groups: Object.freeze([...found.principal.groups]),
      authMethod: 'api_key',
    };
  }

  /** last_used_at is written at most once a minute per key, so hot keys do not serialize on it. */
  async #touch(keyId: string): Promise<void> {
    const now = this.runtime.now();
    const last = this.#lastUsedWrites.get(keyId) ?? 0;
    if (now.getTime() - last < 60_000) return;
    if (this.#lastUsedWrites.size > 10_000) this.#lastUsedWrites.clear();
    this.#lastUsedWrites.set(keyId, now.getTime());
    await this.store.touchApiKey(keyId, now.toISOString());
  }
}
