// Grants: the capability tokens (token.ts, keys), and the ledger that records, consumes and
// revokes them, with the kill switches that stop every grant of a scope.
export { type GrantKeyLookup, GrantKeyring } from './keyring.ts';
export { createGrantKey, type GrantSigningKey, loadGrantSigningKey, loadGrantVerificationKeys } from './keys.ts';
export {
  assertGrantLive,
  consumeGrant,
  issueGrant,
  type MintedGrant,
  revokeGrant,
  setKillSwitch,
  verifyPresentedGrant,
} from './ledger.ts';
export { type SealKind, sealFields, sealHolds } from './seal.ts';
export { GRANT_AUDIENCE, GRANT_ISSUER, GRANT_TYPE, type GrantClaims, mintGrant, verifyGrant } from './token.ts';
