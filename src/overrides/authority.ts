import { type KeyObject, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import type { BreakGlassNotification, Notifier } from '../notifications/index.ts';
import { parseStoredDocument } from '../plans/index.ts';
import type { Principal, ResourceRef } from '../policy/index.ts';
import type { Runtime } from '../runtime.ts';
import type { OverrideRecord, PlanRecord, TenantScope } from '../store/index.ts';
import {
  type OverrideDocument,
  overrideSigningText,
  parseOverrideDocument,
  parsePresentedOverride,
  type SignedOverride,
  signOverride,
  verifyOverrideText,
} from './document.ts';
import type { OverrideSigningKey } from './keys.ts';
import { outOfScope, overrideStatus } from './scope.ts';
import type { OverrideView } from './view.ts';

/** The longest an override may live: one hour (invariant 14: short-lived). */
export const MAX_OVERRIDE_TTL_SECONDS = 3600;

const NAME = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, - and _');

/** What a caller may send to issue an override. Id, nonce, times and issuer come from the server. */
export const IssueOverrideSchema = z
  .object({
    scope: z
      .object({
        environment: z.string().min(1).max(64),
        tools: z.array(NAME).min(1).max(50),
        actions: z.array(NAME).min(1).max(50),
      })
      .strict(),
    ttlSeconds: z.number().int().min(60).max(MAX_OVERRIDE_TTL_SECONDS),
    reason: z.string().trim().min(1, 'a reason is mandatory').max(2000),
  })
  .strict();

export const RevokeOverrideSchema = z.object({ reason: z.string().trim().min(1, 'a reason is mandatory').max(2000) }).strict();

export type { IssuedOverride, OverrideView } from './view.ts';

export interface AcceptedOverride {
  record: OverrideRecord;
  document: OverrideDocument;
}

export interface OverrideAuthorityDeps {
  runtime: Runtime;
  signingKey: () => OverrideSigningKey;
  verificationKeys: () => ReadonlyMap<string, KeyObject>;
  notifier: Notifier;
  log: (line: string) => void;
  /** Injectable for tests; 32 random bytes otherwise. */
  newNonce?: () => string;
}

export function toOverrideView(r: OverrideRecord, now: Date): OverrideView {
  const doc = parseOverrideDocument(r.document);
  return {
    id: r.id,
    status: overrideStatus(r, now),
    environment: r.environment,
    tools: doc.tools,
    actions: doc.actions,
    reason: r.reason,
    issuedBy: r.issuedBy,
    issuedAt: r.issuedAt,
    expiresAt: r.expiresAt,
    consumedAt: r.consumedAt,
    executionId: r.executionId,
    revokedAt: r.revokedAt,
    revokedBy: r.revokedBy,
    revokeReason: r.revokeReason,
  };
}

export function overrideResource(r: Pick<OverrideRecord, 'id' | 'tenantId' | 'environment'>): ResourceRef {
  return { type: 'Override', id: r.id, tenantId: r.tenantId, environment: r.environment };
}

/**
 * What the rest of the system may do with break-glass overrides (invariant 14): sign a new one,
 * check a presented one inside an execution's transaction, and raise the loud notification of
 * every decision. The privileged operations that issue, use, revoke and list overrides are in
 * the operations table; they call this.
 */
export class OverrideAuthority {
  constructor(private readonly deps: OverrideAuthorityDeps) {}

  /** Signs a new override document with the override key; the nonce is fresh and random. */
  sign(doc: Omit<OverrideDocument, 'nonce'>): { document: OverrideDocument; signed: SignedOverride } {
    const document: OverrideDocument = { ...doc, nonce: this.deps.newNonce?.() ?? randomBytes(32).toString('base64url') };
    return { document, signed: signOverride(document, this.deps.signingKey()) };
  }

  /** The override id a presented value names (for idempotent retries), or throws OVERRIDE_INVALID. */
  presentedId(presented: string): string {
    return parsePresentedOverride(presented).id;
  }

  /**
   * Acceptance checks, inside the execution's transaction: the stored document verifies under
   * the override key (so a row edited in the database is refused), a presented document is
   * exactly the stored one, and the override is not revoked, not used, not expired, and covers
   * the plan's tenant, environment and every step. Consuming the nonce is the caller's next
   * move, in the same transaction, only if everything else also holds.
   */
  async accept(scope: TenantScope, plan: PlanRecord, presented: string, now: Date): Promise<AcceptedOverride> {
    const p = parsePresentedOverride(presented);
    const record = await scope.overrides.get(p.id);
    if (!record) throw new CountersignError('OVERRIDE_INVALID', `override ${p.id} is unknown in this tenant`);
    if (!verifyOverrideText(record.document, record.keyId, record.signature, this.deps.verificationKeys())) {
      throw new CountersignError('OVERRIDE_INVALID', `override ${p.id}: its stored document does not verify under the override key`);
    }
    if (p.signed) {
      const same =
        overrideSigningText(p.signed.document) === record.document &&
        p.signed.keyId === record.keyId &&
        p.signed.signature === record.signature;
      if (!same) throw new CountersignError('OVERRIDE_INVALID', `override ${p.id}: the presented document is not the one issued`);
    }
    const document = parseOverrideDocument(record.document);
    if (document.id !== record.id || document.tenant !== record.tenantId || document.nonce !== record.nonce) {
      throw new CountersignError('OVERRIDE_INVALID', `override ${p.id}: the document does not match its record`);
    }
    if (record.revokedAt) {
      throw new CountersignError('OVERRIDE_REVOKED', `override ${p.id} was revoked: ${record.revokeReason ?? ''}`.trim());
    }
    if (record.consumedAt) {
      throw new CountersignError('OVERRIDE_REPLAYED', `override ${p.id} was already used (execution ${record.executionId ?? '?'})`);
    }
    if (now.getTime() >= Date.parse(document.expiresAt)) {
      throw new CountersignError('OVERRIDE_EXPIRED', `override ${p.id} expired at ${document.expiresAt}`);
    }
    const doc = parseStoredDocument(plan.document);
    const why = outOfScope(document, {
      tenant: plan.tenantId,
      environment: plan.environment,
      steps: [...doc.steps, ...doc.rollback],
    });
    if (why) throw new CountersignError('OVERRIDE_OUT_OF_SCOPE', `override ${p.id}: ${why}`);
    return { record, document };
  }

  /** Raises the notification for a decision, allowed or refused, without ever blocking it. */
  notify(
    principal: Principal,
    event: BreakGlassNotification['event'],
    outcome: BreakGlassNotification['outcome'],
    fields: { override: string | null; environment: string | null; reason: string | null; details?: Record<string, unknown> },
  ): void {
    void this.deps.notifier
      .notify({
        event,
        outcome,
        breakGlass: true,
        tenant: principal.tenantId,
        override: fields.override,
        actor: principal.id,
        environment: fields.environment,
        reason: fields.reason,
        at: this.deps.runtime.now().toISOString(),
        details: fields.details ?? {},
      })
      .catch((err: Error) => this.deps.log(`break-glass notification failed: ${err.message}`));
  }
}
