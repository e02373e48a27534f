import { errors } from 'jose';
import { JwksUrlRefused } from './jwks-url.ts';

/**
 * Why a bearer JWT was refused. Each is audited as the `reason` of an `auth.authenticate` denied
 * entry; the caller always sees the same 401, so the reasons help operators, not attackers.
 */
export type OidcFailureReason =
  | 'jwt_not_configured'
  | 'malformed'
  | 'alg_not_allowed'
  | 'unknown_kid'
  | 'ambiguous_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'wrong_token_type'
  | 'missing_subject'
  | 'missing_expiry'
  | 'bad_claims'
  | 'jwks_unavailable'
  | 'jwks_url_refused'
  | 'unknown_tenant'
  | 'unknown_subject'
  | 'disabled'
  | 'verification_error';

export class OidcFailure extends Error {
  constructor(
    readonly reason: OidcFailureReason,
    options?: { cause?: unknown },
  ) {
    super(`bearer JWT refused: ${reason}`, options);
    this.name = 'OidcFailure';
  }
}

const CLAIM_REASONS: Record<string, OidcFailureReason> = {
  aud: 'wrong_audience',
  iss: 'wrong_issuer',
  nbf: 'not_yet_valid',
  typ: 'wrong_token_type',
  sub: 'missing_subject',
  exp: 'missing_expiry',
};

/**
 * Maps an error thrown while verifying to a reason, by jose's stable error codes (never by
 * message). Anything unrecognized is still a refusal: `verification_error`, fail closed.
 */
export function reasonForVerificationError(err: unknown): OidcFailureReason {
  if (err instanceof OidcFailure) return err.reason;
  if (err instanceof JwksUrlRefused) return 'jwks_url_refused';
  if (err instanceof errors.JWTExpired) return err.claim === 'exp' ? 'expired' : 'bad_claims';
  if (err instanceof errors.JWTClaimValidationFailed) return CLAIM_REASONS[err.claim] ?? 'bad_claims';
  if (err instanceof errors.JOSEError) {
    switch (err.code) {
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
        return 'alg_not_allowed';
      // A JWKS cannot hold a key for an HMAC alg; jose says "not supported" before any lookup.
      case 'ERR_JOSE_NOT_SUPPORTED':
        return 'alg_not_allowed';
      case 'ERR_JWKS_NO_MATCHING_KEY':
        return 'unknown_kid';
      case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
        return 'ambiguous_key';
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
        return 'bad_signature';
      case 'ERR_JWS_INVALID':
      case 'ERR_JWT_INVALID':
        return 'malformed';
      case 'ERR_JWKS_TIMEOUT':
      case 'ERR_JWKS_INVALID':
      case 'ERR_JWK_INVALID':
        return 'jwks_unavailable';
      default:
        // The base JOSEError is what jose throws for a non-200 or non-JSON JWKS response.
        return err.constructor === errors.JOSEError ? 'jwks_unavailable' : 'verification_error';
    }
  }
  // Network errors from the JWKS fetch (refused connection, TLS failure, timeout).
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError' || 'code' in err)) return 'jwks_unavailable';
  return 'verification_error';
}
