import { type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { Config } from '../config/index.ts';
import { isAsymmetricJwsAlgorithm } from './algorithms.ts';
import { OidcFailure, reasonForVerificationError } from './oidc-failure.ts';

export type OidcSettings = NonNullable<Config['oidc']>;

/** What a verified token says about its bearer, before it is matched to a stored principal. */
export interface VerifiedIdentity {
  subject: string;
  /** The groups claim, validated; empty when absent. */
  claimGroups: readonly string[];
  /** The kind claim when `principalKindClaim` is configured and the token carries it. */
  claimKind: 'human' | 'agent' | undefined;
}

/** Bounds on claim shapes: a token is attacker-supplied input until proven otherwise (invariant 19). */
const MAX_SUBJECT = 255;
const MAX_GROUPS = 256;
const MAX_GROUP_NAME = 128;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what it refuses
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Verifies bearer JWTs with jose: the signature always (no key, no login), `alg` pinned to the
 * configured asymmetric list, `iss`, `aud`, `exp` (required), `nbf` and `iat` (never in the future) with
 * bounded clock tolerance, `sub` required, and optionally the `typ` header.
 */
export class OidcVerifier {
  readonly #settings: OidcSettings;
  readonly #getKey: JWTVerifyGetKey;
  readonly #now: () => Date;

  constructor(settings: OidcSettings, getKey: JWTVerifyGetKey, now: () => Date) {
    // Config already refuses these; checked again so no other caller can build a weak verifier.
    const weak = settings.algorithms.filter((a) => !isAsymmetricJwsAlgorithm(a));
    if (weak.length > 0 || settings.algorithms.length === 0)
      throw new TypeError(`refusing JWT algorithms: ${weak.join(', ') || '(none listed)'}`);
    if (settings.clockSkewSeconds < 0 || settings.clockSkewSeconds > 300) throw new TypeError('clock skew must be within 0..300 s');
    this.#settings = settings;
    this.#getKey = getKey;
    this.#now = now;
  }

  async verify(token: string): Promise<VerifiedIdentity> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#getKey, {
        algorithms: [...this.#settings.algorithms],
        issuer: this.#settings.issuer,
        audience: this.#settings.audience,
        clockTolerance: this.#settings.clockSkewSeconds,
        // A token without exp would never expire; a token without sub names nobody.
        requiredClaims: ['exp', 'sub'],
        currentDate: this.#now(),
        ...(this.#settings.requiredTokenType ? { typ: this.#settings.requiredTokenType } : {}),
      }));
    } catch (err) {
      throw new OidcFailure(reasonForVerificationError(err), { cause: err });
    }
    // jose checks iat against the clock only when maxTokenAge is set. A token issued in the future
    // comes from an IdP whose clock is wrong or from a key holder minting tokens ahead of time
    // (they stay usable past a key rotation); refuse it beyond the same skew as exp and nbf.
    if (typeof payload.iat === 'number' && payload.iat > Math.floor(this.#now().getTime() / 1000) + this.#settings.clockSkewSeconds)
      throw new OidcFailure('issued_in_future');
    return readIdentity(payload, this.#settings);
  }
}

/** Reads sub, groups and kind from a verified payload, refusing any claim of the wrong shape. */
export function readIdentity(payload: JWTPayload, settings: Pick<OidcSettings, 'groupsClaim' | 'principalKindClaim'>): VerifiedIdentity {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUBJECT || CONTROL.test(sub))
    throw new OidcFailure('missing_subject');

  const rawGroups = payload[settings.groupsClaim];
  let claimGroups: string[] = [];
  if (rawGroups !== undefined) {
    const valid =
      Array.isArray(rawGroups) &&
      rawGroups.length <= MAX_GROUPS &&
      rawGroups.every((g) => typeof g === 'string' && g.length > 0 && g.length <= MAX_GROUP_NAME && !CONTROL.test(g));
    if (!valid) throw new OidcFailure('bad_claims');
    claimGroups = [...new Set(rawGroups as string[])];
  }

  let claimKind: VerifiedIdentity['claimKind'];
  if (settings.principalKindClaim) {
    const raw = payload[settings.principalKindClaim];
    if (raw !== undefined) {
      if (raw !== 'human' && raw !== 'agent') throw new OidcFailure('bad_claims');
      claimKind = raw;
    }
  }
  return { subject: sub, claimGroups, claimKind };
}

/**
 * The groups a token-authenticated principal acts with. A group is managed in exactly one place:
 * groups listed in `delegated` come from the token only (so removing someone in the IdP takes
 * effect at their next token), all others from the stored principal only (so an IdP, or anyone
 * who can edit group names in it, cannot mint membership of `admin` or `approvers` unless the
 * operator delegated that group by name).
 */
export function effectiveGroups(stored: readonly string[], claimGroups: readonly string[], delegated: readonly string[]): string[] {
  const isDelegated = new Set(delegated);
  const fromStore = stored.filter((g) => !isDelegated.has(g));
  const fromToken = claimGroups.filter((g) => isDelegated.has(g));
  return [...new Set([...fromStore, ...fromToken])].sort();
}

/** A token may lower a stored human to an agent (fewer rights), never raise an agent. */
export function effectiveKind(stored: 'human' | 'agent', claimed: 'human' | 'agent' | undefined): 'human' | 'agent' {
  return stored === 'agent' || claimed === 'agent' ? 'agent' : 'human';
}
