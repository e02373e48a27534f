// The pure policy of bearer JWTs, shared by config (validated at load) and auth (applied at
// request time): which algorithms are accepted, and which JWKS URLs may be fetched (the SSRF
// guard). No store and no network client beyond the guarded fetch, so loading config stays light.
export { ASYMMETRIC_JWS_ALGORITHMS, isAsymmetricJwsAlgorithm } from './algorithms.ts';
export {
  checkJwksUrl,
  guardedJwksFetch,
  type JwksUrlPolicy,
  JwksUrlRefused,
  jwksUrlProblem,
  normalizeHost,
  type ResolvedAddress,
  type Resolver,
  systemResolver,
} from './jwks-url.ts';
