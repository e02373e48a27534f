import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** A console session as stored: the cookie's token is never stored, only its SHA-256. */
export interface ConsoleSessionRecord {
  idHash: string;
  tenantId: string;
  principalId: string;
  authMethod: 'api_key' | 'oidc';
  /** The API key a development sign-in used: revoking it ends the session. */
  keyId: string | null;
  /** Groups and kind at sign-in (an OIDC token's delegated groups are known only then). */
  groups: string[];
  kind: 'human' | 'agent';
  csrfToken: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  endedAt: string | null;
  stepUp: { challenge: string; planHash: string; issuedAt: string } | null;
}

export interface WebAuthnCredentialRecord {
  id: string;
  tenantId: string;
  principalId: string;
  name: string;
  /** COSE public key, base64url. */
  publicKey: string;
  counter: number;
  transports: string[];
  createdAt: string;
}

type SessionRow = Database['console_sessions'];

function toSession(r: SessionRow): ConsoleSessionRecord {
  return {
    idHash: r.id_hash,
    tenantId: r.tenant_id,
    principalId: r.principal_id,
    authMethod: r.auth_method as ConsoleSessionRecord['authMethod'],
    keyId: r.key_id,
    groups: JSON.parse(r.groups) as string[],
    kind: r.kind as ConsoleSessionRecord['kind'],
    csrfToken: r.csrf_token,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    expiresAt: r.expires_at,
    endedAt: r.ended_at,
    stepUp:
      r.step_up_challenge && r.step_up_plan_hash && r.step_up_issued_at
        ? { challenge: r.step_up_challenge, planHash: r.step_up_plan_hash, issuedAt: r.step_up_issued_at }
        : null,
  };
}

/**
 * The console's server-side state. Installation-wide like API keys: a session is found by its
 * cookie before its tenant is known, and the row names the tenant.
 */
export class ConsoleRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async insertSession(s: Omit<ConsoleSessionRecord, 'endedAt' | 'stepUp'>): Promise<void> {
    await this.db
      .insertInto('console_sessions')
      .values({
        id_hash: s.idHash,
        tenant_id: s.tenantId,
        principal_id: s.principalId,
        auth_method: s.authMethod,
        key_id: s.keyId,
        groups: JSON.stringify(s.groups),
        kind: s.kind,
        csrf_token: s.csrfToken,
        created_at: s.createdAt,
        last_seen_at: s.lastSeenAt,
        expires_at: s.expiresAt,
        ended_at: null,
        step_up_challenge: null,
        step_up_plan_hash: null,
        step_up_issued_at: null,
      })
      .execute();
  }

  async getSession(idHash: string): Promise<ConsoleSessionRecord | undefined> {
    const r = await this.db.selectFrom('console_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    return r ? toSession(r) : undefined;
  }

  async touchSession(idHash: string, at: string): Promise<void> {
    await this.db.updateTable('console_sessions').set({ last_seen_at: at }).where('id_hash', '=', idHash).execute();
  }

  /** Ends a session for good; true when it was still open. */
  async endSession(idHash: string, at: string): Promise<boolean> {
    const res = await this.db
      .updateTable('console_sessions')
      .set({ ended_at: at, step_up_challenge: null })
      .where('id_hash', '=', idHash)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** One outstanding step-up challenge per session; a new one replaces the old. */
  async setStepUpChallenge(idHash: string, challenge: string, planHash: string, at: string): Promise<void> {
    await this.db
      .updateTable('console_sessions')
      .set({ step_up_challenge: challenge, step_up_plan_hash: planHash, step_up_issued_at: at })
      .where('id_hash', '=', idHash)
      .execute();
  }

  /** Takes the session's challenge if it is still the given one: an assertion is used once. */
  async takeStepUpChallenge(idHash: string, challenge: string): Promise<boolean> {
    const res = await this.db
      .updateTable('console_sessions')
      .set({ step_up_challenge: null, step_up_plan_hash: null, step_up_issued_at: null })
      .where('id_hash', '=', idHash)
      .where('step_up_challenge', '=', challenge)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async insertReviewToken(tokenHash: string, sessionHash: string, planId: string, planHash: string, at: string): Promise<void> {
    await this.db
      .insertInto('console_review_tokens')
      .values({ token_hash: tokenHash, session_hash: sessionHash, plan_id: planId, plan_hash: planHash, created_at: at })
      .execute();
  }

  /** Spends a review token of this session for this plan and hash; false when there is none (a replay). */
  async spendReviewToken(tokenHash: string, sessionHash: string, planId: string, planHash: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('console_review_tokens')
      .where('token_hash', '=', tokenHash)
      .where('session_hash', '=', sessionHash)
      .where('plan_id', '=', planId)
      .where('plan_hash', '=', planHash)
      .executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }

  async insertSignIn(stateHash: string, codeVerifier: string, nonce: string, at: string): Promise<void> {
    await this.db
      .insertInto('console_sign_ins')
      .values({ state_hash: stateHash, code_verifier: codeVerifier, nonce, created_at: at })
      .execute();
  }

  /** Deletes and returns a sign-in attempt: the state is single-use, so a replayed callback finds nothing. */
  async takeSignIn(stateHash: string): Promise<{ codeVerifier: string; nonce: string; createdAt: string } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('console_sign_ins').selectAll().where('state_hash', '=', stateHash).executeTakeFirst();
      if (!row) return undefined;
      const del = await trx.deleteFrom('console_sign_ins').where('state_hash', '=', stateHash).executeTakeFirst();
      if (Number(del.numDeletedRows) !== 1) return undefined;
      return { codeVerifier: row.code_verifier, nonce: row.nonce, createdAt: row.created_at };
    });
  }

  /** Forgets sign-ins and sessions that can no longer be used (called on sign-in). */
  async pruneBefore(signInsBefore: string, sessionsBefore: string, reviewTokensBefore: string): Promise<void> {
    await this.db.deleteFrom('console_sign_ins').where('created_at', '<', signInsBefore).execute();
    await this.db.deleteFrom('console_sessions').where('expires_at', '<', sessionsBefore).execute();
    await this.db.deleteFrom('console_review_tokens').where('created_at', '<', reviewTokensBefore).execute();
  }

  async listCredentials(tenantId: string, principalId: string): Promise<WebAuthnCredentialRecord[]> {
    const rows = await this.db
      .selectFrom('webauthn_credentials')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('principal_id', '=', principalId)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      principalId: r.principal_id,
      name: r.name,
      publicKey: r.public_key,
      counter: Number(r.counter),
      transports: JSON.parse(r.transports) as string[],
      createdAt: r.created_at,
    }));
  }

  async insertCredential(c: WebAuthnCredentialRecord): Promise<void> {
    await this.db
      .insertInto('webauthn_credentials')
      .values({
        id: c.id,
        tenant_id: c.tenantId,
        principal_id: c.principalId,
        name: c.name,
        public_key: c.publicKey,
        counter: c.counter,
        transports: JSON.stringify(c.transports),
        created_at: c.createdAt,
      })
      .execute();
  }

  async removeCredential(tenantId: string, principalId: string, id: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('webauthn_credentials')
      .where('tenant_id', '=', tenantId)
      .where('principal_id', '=', principalId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }

  /** Advances the signature counter; refuses to go backwards (a cloned authenticator). */
  async advanceCounter(id: string, from: number, to: number): Promise<boolean> {
    const res = await this.db
      .updateTable('webauthn_credentials')
      .set({ counter: to })
      .where('id', '=', id)
      .where('counter', '=', from)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}
