export { type GrantKeyLookup, GrantKeyring } from './keyring.ts';
export { createGrantKey, type GrantSigningKey, loadGrantSigningKey, loadGrantVerificationKeys } from './keys.ts';
export { GRANT_AUDIENCE, GRANT_ISSUER, GRANT_TYPE, type GrantClaims, mintGrant, verifyGrant } from './token.ts';
