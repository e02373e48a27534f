import { createRemoteJWKSet, customFetch } from 'jose';
import type { Config } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { checkJwksUrl, guardedJwksFetch, JwksUrlRefused, type Resolver, systemResolver } from '../jwt-policy/index.ts';
import type { Runtime } from '../runtime.ts';
import type { Store } from '../store/index.ts';
import { Authenticator, type OidcLogin } from './authenticate.ts';
import { type OidcSettings, OidcVerifier } from './oidc.ts';

export interface AuthenticatorOptions {
  store: Store;
  runtime: Runtime;
  /** `config.oidc`; undefined means JWTs are refused with `jwt_not_configured`. */
  oidc: Readonly<Config['oidc']>;
  /** Tests only: a DNS resolver that can change its answer between start and fetch. */
  resolver?: Resolver;
}

/**
 * Builds the Authenticator. With OIDC configured, the JWKS URL is checked now, including DNS,
 * and start is refused (CONFIG_INVALID) when it is refused or does not resolve: a typo or a
 * hostile name should stop the start, not show up later as every login failing.
 *
 * The JWKS itself is not fetched at start, so an IdP that is briefly down does not stop API-key
 * logins; jose's remote set fetches on first use, caches (10 min) and refetches for an unknown
 * `kid` at most once per 30 s cooldown, so forged kids cannot make us hammer the IdP.
 */
export async function createAuthenticator(options: AuthenticatorOptions): Promise<Authenticator> {
  if (!options.oidc) return new Authenticator(options.store, options.runtime, null);
  const settings: OidcSettings = options.oidc;
  const resolver = options.resolver ?? systemResolver;
  const policy = { allowlist: settings.jwksAllowlist, allowPrivateAddresses: settings.allowPrivateAddresses };
  try {
    await checkJwksUrl(settings.jwksUrl, policy, resolver);
  } catch (err) {
    const why = err instanceof JwksUrlRefused ? err.message : `cannot resolve its host (${(err as Error).message})`;
    throw new CountersignError('CONFIG_INVALID', `oidc.jwksUrl: ${why}`, { cause: err });
  }
  const jwks = createRemoteJWKSet(new URL(settings.jwksUrl), {
    [customFetch]: guardedJwksFetch(policy, resolver),
    timeoutDuration: 5_000,
  });
  const login: OidcLogin = { settings, verifier: new OidcVerifier(settings, jwks, () => options.runtime.now()) };
  return new Authenticator(options.store, options.runtime, login);
}
