import type { KeyObject } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { CountersignError } from '../errors/index.ts';
import type { GrantSigningKey } from './keys.ts';

export const GRANT_ISSUER = 'countersign-api';
export const GRANT_AUDIENCE = 'countersign-executor';
export const GRANT_TYPE = 'countersign-grant+jwt';

/** What a grant binds (invariant 7): one plan, at one hash, in one tenant and environment, for named steps. */
export interface GrantClaims {
  jti: string;
  tenant: string;
  environment: string;
  planId: string;
  planHash: string;
  /** Indexes of the plan's steps and rollback steps this grant may run. */
  scope: { steps: number[]; rollback: number[] };
  /** Set when the execution runs under a break-glass override instead of approvals. */
  override?: string;
  issuedAt: Date;
  expiresAt: Date;
  kid: string;
}

export async function mintGrant(
  key: GrantSigningKey,
  claims: Omit<GrantClaims, 'kid' | 'issuedAt' | 'expiresAt'>,
  now: Date,
  ttlSeconds: number,
): Promise<{ token: string; claims: GrantClaims }> {
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + ttlSeconds;
  const token = await new SignJWT({
    tenant: claims.tenant,
    env: claims.environment,
    plan_hash: claims.planHash,
    scope: claims.scope,
    ...(claims.override ? { override: claims.override } : {}),
  })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: GRANT_TYPE })
    .setIssuer(GRANT_ISSUER)
    .setAudience(GRANT_AUDIENCE)
    .setSubject(claims.planId)
    .setJti(claims.jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key.privateKey);
  return { token, claims: { ...claims, kid: key.kid, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000) } };
}

function refuse(reason: string, message: string): never {
  throw new CountersignError('GRANT_INVALID', message, { details: { reason } });
}

const isIndexList = (v: unknown): v is number[] => Array.isArray(v) && v.every((n) => Number.isInteger(n) && n >= 0);

/**
 * Verifies a grant's signature against the pinned keys, its type, issuer, audience and expiry.
 * Only EdDSA is accepted: `alg: none`, HS* (confusion with a public key as an HMAC secret) and
 * any key not in the pinned set are refused. Binding to a plan and single use are checked by
 * the caller against stored records.
 */
export async function verifyGrant(token: string, keys: { get(kid: string): KeyObject | undefined }, now: Date): Promise<GrantClaims> {
  let kid: string | undefined;
  try {
    const header = decodeProtectedHeader(token);
    kid = header.kid;
    if (header.alg !== 'EdDSA') refuse('alg_not_allowed', `grant algorithm ${String(header.alg)} is not allowed`);
    if (header.typ !== GRANT_TYPE) refuse('wrong_type', 'not a Countersign grant');
  } catch (err) {
    if (err instanceof CountersignError) throw err;
    refuse('malformed', 'the grant is not a well-formed JWS');
  }
  const key = kid ? keys.get(kid) : undefined;
  if (!key) refuse('unknown_key', `grant key ${kid ?? '(none)'} is not a trusted grant key`);
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['EdDSA'],
      issuer: GRANT_ISSUER,
      audience: GRANT_AUDIENCE,
      typ: GRANT_TYPE,
      currentDate: now,
      clockTolerance: 5,
      requiredClaims: ['jti', 'sub', 'exp', 'iat'],
    });
    const scope = payload.scope as { steps?: unknown; rollback?: unknown } | undefined;
    if (
      typeof payload.tenant !== 'string' ||
      typeof payload.env !== 'string' ||
      typeof payload.plan_hash !== 'string' ||
      !scope ||
      !isIndexList(scope.steps) ||
      !isIndexList(scope.rollback)
    ) {
      refuse('bad_claims', 'the grant lacks its binding claims');
    }
    return {
      jti: payload.jti as string,
      tenant: payload.tenant,
      environment: payload.env,
      planId: payload.sub as string,
      planHash: payload.plan_hash,
      scope: { steps: scope.steps, rollback: scope.rollback },
      ...(typeof payload.override === 'string' ? { override: payload.override } : {}),
      issuedAt: new Date((payload.iat as number) * 1000),
      expiresAt: new Date((payload.exp as number) * 1000),
      kid: kid as string,
    };
  } catch (err) {
    if (err instanceof CountersignError) throw err;
    if (err instanceof joseErrors.JWTExpired) refuse('expired', 'the grant has expired');
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) refuse('bad_signature', 'the grant signature does not verify');
    if (err instanceof joseErrors.JWTClaimValidationFailed) refuse(`bad_${err.claim}`, `the grant's ${err.claim} claim is wrong`);
    refuse('invalid', `the grant does not verify: ${(err as Error).message}`);
  }
}
