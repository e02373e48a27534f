/**
 * JWS algorithms a bearer JWT may use. Asymmetric only (invariant 15): with an HMAC alg the
 * "secret" would be the IdP's public key, which anyone can fetch (HS/RS confusion); `none`
 * means no signature at all. Config refuses anything else when it is loaded, and the verifier
 * checks again when it is built.
 */
export const ASYMMETRIC_JWS_ALGORITHMS = [
  'EdDSA',
  'Ed25519',
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
] as const;

export function isAsymmetricJwsAlgorithm(alg: string): boolean {
  return (ASYMMETRIC_JWS_ALGORITHMS as readonly string[]).includes(alg);
}
