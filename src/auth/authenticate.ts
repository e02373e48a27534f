import { CountersignError } from '../errors/index.ts';
import type { Principal } from '../policy/index.ts';
import type { Runtime } from '../runtime.ts';
import type { Store } from '../store/index.ts';
import { parseApiKey, secretMatches } from './api-keys.ts';
import { effectiveGroups, effectiveKind, type OidcSettings, type OidcVerifier } from './oidc.ts';
import { OidcFailure, type OidcFailureReason } from './oidc-failure.ts';

export interface AuthenticationFailure {
  reason: 'missing' | 'malformed' | 'unknown_key' | 'bad_secret' | 'revoked' | 'disabled' | 'unsupported_scheme' | OidcFailureReason;
}

/** JWT login, present only when config has an `oidc` section (invariant 15: no JWKS, no JWT login). */
export interface OidcLogin {
  settings: OidcSettings;
  verifier: OidcVerifier;
}

/** Compact JWS: three base64url parts; the last may be empty (`alg: none`), which jose then refuses. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Longer than any real access token; bounds the work a hostile header can cause. */
const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * Resolves a bearer credential to a principal: `csk_…` API keys, or OIDC JWTs when configured.
 * The tenant comes from the stored key or the configured OIDC tenant, never from the request
 * (invariant 3). Every failure is the same 401 to the caller; the reason is audited.
 */
export class Authenticator {
  readonly #lastUsedWrites = new Map<string, number>();
  readonly #oidc: OidcLogin | null;
  #oidcTenantId: string | null = null;

  constructor(
    private readonly store: Store,
    private readonly runtime: Runtime,
    oidc: OidcLogin | null = null,
  ) {
    this.#oidc = oidc;
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) return fail('missing');
    const [scheme, token, ...rest] = authorization.trim().split(/\s+/);
    if (scheme?.toLowerCase() !== 'bearer' || !token || rest.length > 0) return fail('unsupported_scheme');
    if (token.length > MAX_TOKEN_LENGTH) return fail('malformed');
    if (token.startsWith('csk_')) return this.#authenticateApiKey(token);
    if (JWT_SHAPE.test(token)) {
      if (!this.#oidc) return fail('jwt_not_configured', 'oidc');
      return this.#authenticateJwt(this.#oidc, token);
    }
    return fail('malformed');
  }

  async #authenticateApiKey(token: string): Promise<Principal> {
    const parsed = parseApiKey(token);
    if (!parsed) return fail('malformed', 'api_key');
    const found = await this.store.findApiKeyForAuthentication(parsed.id);
    if (!found) return fail('unknown_key', 'api_key');
    if (!secretMatches(parsed.secret, found.key.secretHash)) return fail('bad_secret', 'api_key');
    if (found.key.revokedAt) return fail('revoked', 'api_key');
    if (found.principal.disabled) return fail('disabled', 'api_key');
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

  /**
   * A verified token's `sub` names a principal (principals.name) of the configured tenant. No
   * auto-provisioning: an identity the IdP knows but Countersign does not is refused, so adding
   * someone to the IdP never grants them anything here by itself.
   */
  async #authenticateJwt(oidc: OidcLogin, token: string): Promise<Principal> {
    let identity: Awaited<ReturnType<OidcVerifier['verify']>>;
    try {
      identity = await oidc.verifier.verify(token);
    } catch (err) {
      if (err instanceof OidcFailure) return fail(err.reason, 'oidc', err);
      throw err;
    }
    const tenantId = await this.#resolveOidcTenant(oidc.settings.tenant);
    if (!tenantId) return fail('unknown_tenant', 'oidc');
    const principal = await this.store.scope(tenantId).directory.findPrincipalByName(identity.subject);
    if (!principal) return fail('unknown_subject', 'oidc');
    if (principal.disabled) return fail('disabled', 'oidc');
    return {
      tenantId,
      id: principal.id,
      name: principal.name,
      kind: effectiveKind(principal.kind, identity.claimKind),
      groups: Object.freeze(effectiveGroups(principal.groups, identity.claimGroups, oidc.settings.delegatedGroups)),
      authMethod: 'oidc',
    };
  }

  /** Tenant names do not change, so a found id is cached; a missing tenant is asked again next time. */
  async #resolveOidcTenant(name: string): Promise<string | null> {
    if (this.#oidcTenantId) return this.#oidcTenantId;
    const tenant = await this.store.findTenantByName(name);
    if (tenant) this.#oidcTenantId = tenant.id;
    return tenant?.id ?? null;
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

/**
 * One message for every failure, so the response does not tell an attacker which check failed.
 * `reason` and `method` are for the audit entry only (the API strips UNAUTHENTICATED details).
 */
function fail(reason: AuthenticationFailure['reason'], method?: 'api_key' | 'oidc', cause?: unknown): never {
  throw new CountersignError('UNAUTHENTICATED', 'a valid credential is required (Authorization: Bearer csk_… or an OIDC access token)', {
    details: method ? { reason, method } : { reason },
    ...(cause === undefined ? {} : { cause }),
  });
}
