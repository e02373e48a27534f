import { randomUUID } from 'node:crypto';
import { CountersignError } from '../errors/index.ts';
import type { PlanRecord, TenantScope } from '../store/index.ts';
import type { GrantKeyring } from './keyring.ts';
import { type GrantClaims, mintGrant, verifyGrant } from './token.ts';

/** A grant as minted: the token and the claims it carries. */
export interface MintedGrant {
  token: string;
  claims: GrantClaims;
}

/**
 * Mints a grant for one plan's content (invariant 7) and records it in the ledger, unconsumed,
 * in the caller's transaction: a grant the ledger does not know is refused when presented.
 */
export async function issueGrant(
  scope: TenantScope,
  keys: GrantKeyring,
  plan: PlanRecord,
  scopeOf: GrantClaims['scope'],
  options: { now: Date; ttlSeconds: number; override?: string },
): Promise<MintedGrant> {
  const minted = await mintGrant(
    keys.signingKey(),
    {
      jti: randomUUID(),
      tenant: plan.tenantId,
      environment: plan.environment,
      planId: plan.id,
      planHash: plan.hash,
      scope: scopeOf,
      ...(options.override ? { override: options.override } : {}),
    },
    options.now,
    options.ttlSeconds,
  );
  await scope.grants.insert({
    jti: minted.claims.jti,
    plan_id: plan.id,
    key_id: minted.claims.kid,
    issued_at: minted.claims.issuedAt.toISOString(),
    expires_at: minted.claims.expiresAt.toISOString(),
    consumed_at: null,
    execution_id: null,
    revoked_at: null,
    revoke_reason: null,
  });
  return minted;
}

/**
 * A grant presented by a caller: its signature verifies under a pinned key, it names this plan
 * and this exact content, and the ledger knows it as neither revoked nor used.
 */
export async function verifyPresentedGrant(
  scope: TenantScope,
  keys: GrantKeyring,
  plan: PlanRecord,
  token: string,
  now: Date,
): Promise<MintedGrant> {
  const claims = await verifyGrant(token, keys, now);
  if (claims.planId !== plan.id || claims.tenant !== plan.tenantId) {
    throw new CountersignError('GRANT_INVALID', `the grant is for another plan, not ${plan.id}`, { details: { reason: 'wrong_plan' } });
  }
  if (claims.planHash !== plan.hash || claims.environment !== plan.environment) {
    throw new CountersignError('GRANT_INVALID', 'the grant was minted for other plan content', { details: { reason: 'wrong_hash' } });
  }
  const row = await scope.grants.get(claims.jti);
  if (!row) throw new CountersignError('GRANT_INVALID', 'the grant is unknown to this server', { details: { reason: 'unknown_jti' } });
  if (row.revoked_at) throw new CountersignError('GRANT_REVOKED', `grant ${claims.jti} was revoked: ${row.revoke_reason ?? ''}`);
  if (row.consumed_at) throw new CountersignError('GRANT_REPLAYED', `grant ${claims.jti} was already used`);
  return { token, claims };
}

/** Single use (invariant 7): consumed atomically with creating the execution, or refused. */
export async function consumeGrant(scope: TenantScope, jti: string, executionId: string, now: Date): Promise<void> {
  if (!(await scope.grants.consume(jti, executionId, now.toISOString()))) {
    throw new CountersignError('GRANT_REPLAYED', `grant ${jti} was already used or revoked`);
  }
}

export async function revokeGrant(scope: TenantScope, jti: string, reason: string, now: Date): Promise<void> {
  if (!(await scope.grants.revoke(jti, now.toISOString(), reason)))
    throw new CountersignError('CONFLICT', `grant ${jti} is already revoked`);
}

/**
 * Before every step (invariant 8): the grant is still in the ledger, not revoked, and bound to
 * this execution.
 */
export async function assertGrantLive(scope: TenantScope, claims: GrantClaims, executionId: string): Promise<void> {
  const row = await scope.grants.get(claims.jti);
  if (!row || row.revoked_at) {
    throw new CountersignError('GRANT_REVOKED', `grant ${claims.jti} was revoked${row?.revoke_reason ? `: ${row.revoke_reason}` : ''}`);
  }
  if (row.execution_id !== executionId) throw new CountersignError('GRANT_INVALID', 'the grant is not bound to this execution');
}

/** A kill switch on: nothing in its scope starts or continues a step until it is lifted. */
export async function setKillSwitch(
  scope: TenantScope,
  target: string,
  on: boolean,
  reason: string,
  actor: string,
  now: Date,
): Promise<void> {
  const changed = on ? await scope.freezes.add(target, reason, actor, now.toISOString()) : await scope.freezes.remove(target);
  if (!changed) {
    throw new CountersignError('CONFLICT', `${target === '*' ? 'the tenant' : target} is already ${on ? 'frozen' : 'not frozen'}`);
  }
}
