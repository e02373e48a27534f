export { ASYMMETRIC_JWS_ALGORITHMS, JwksUrlRefused, type Resolver } from '../jwt-policy/index.ts';
export { generateApiKey, hashSecret, type NewApiKey, parseApiKey, secretMatches } from './api-keys.ts';
export { type AuthenticationFailure, Authenticator, type OidcLogin } from './authenticate.ts';
export { type AuthenticatorOptions, createAuthenticator } from './create.ts';
export { effectiveGroups, effectiveKind, type OidcSettings, OidcVerifier, type VerifiedIdentity } from './oidc.ts';
export { OidcFailure, type OidcFailureReason } from './oidc-failure.ts';
