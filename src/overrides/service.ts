import { type KeyObject, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import type { BreakGlassNotification, Notifier } from '../notifications/index.ts';
import { parseStoredDocument } from '../plans/document.ts';
import { parseOrThrow } from '../plans/service.ts';
import { type PrivilegeDeps, requirePrivilege, requireRead } from '../policy/require-privilege.ts';
import type { Principal, ResourceRef } from '../policy/types.ts';
import type { Runtime } from '../runtime.ts';
import type { OverrideRecord, PlanRecord, TenantScope } from '../store/index.ts';
import type { ToolRegistry } from '../tools/index.ts';
import {
  type OverrideDocument,
  overrideSigningText,
  parseOverrideDocument,
  parsePresentedOverride,
  signOverride,
  verifyOverrideText,
} from './document.ts';
import type { OverrideSigningKey } from './keys.ts';
import { outOfScope, overrideStatus } from './scope.ts';
import type { IssuedOverride, OverrideView } from './view.ts';

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

export interface OverrideServiceDeps extends PrivilegeDeps {
  runtime: Runtime;
  tools: ToolRegistry;
  signingKey: () => OverrideSigningKey;
  verificationKeys: ReadonlyMap<string, KeyObject>;
  notifier: Notifier;
  log: (line: string) => void;
  /** Injectable for tests; 32 random bytes otherwise. */
  newNonce?: () => string;
}

function toView(r: OverrideRecord, now: Date): OverrideView {
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

const unique = (xs: readonly string[]) => [...new Set(xs)].sort();

/**
 * Break-glass overrides (invariant 14): issue, revoke, list — each through the chokepoint and
 * loudly audited (`details.breakGlass`), each raising a notification — and the acceptance checks
 * the execution service applies when an override is presented.
 */
export class OverrideService {
  constructor(private readonly deps: OverrideServiceDeps) {}

  async issue(principal: Principal, body: unknown): Promise<IssuedOverride> {
    const req = parseOrThrow(IssueOverrideSchema, body ?? {}, 'body');
    const env = req.scope.environment;
    const resource: ResourceRef = { type: 'Environment', id: env, tenantId: principal.tenantId, environment: env };
    const issued = await this.#notifying(principal, 'override.issue', null, env, req.reason, () =>
      requirePrivilege(this.deps, principal, 'override.issue', resource, async (scope) => {
        if (!(await scope.directory.getEnvironment(env))) {
          throw new CountersignError('UNKNOWN_ENVIRONMENT', `scope.environment: "${env}" does not exist in this tenant`, {
            details: { field: 'scope.environment' },
          });
        }
        const tools = unique(req.scope.tools);
        const actions = unique(req.scope.actions);
        for (const t of tools) {
          if (!this.deps.tools.get(t)) {
            throw new CountersignError('UNKNOWN_TOOL', `scope.tools: no tool named "${t}" is loaded`, {
              details: { field: 'scope.tools' },
            });
          }
        }
        for (const a of actions) {
          if (!tools.some((t) => this.deps.tools.get(t)?.manifest.actions[a])) {
            throw new CountersignError('UNKNOWN_ACTION', `scope.actions: none of ${tools.join(', ')} has an action "${a}"`, {
              details: { field: 'scope.actions' },
            });
          }
        }
        const now = this.deps.runtime.now();
        const doc: OverrideDocument = {
          v: 1,
          type: 'countersign-override',
          id: this.deps.runtime.newId('ovr'),
          tenant: principal.tenantId,
          environment: env,
          tools,
          actions,
          reason: req.reason,
          nonce: this.deps.newNonce?.() ?? randomBytes(32).toString('base64url'),
          issuedBy: principal.id,
          issuedAt: now.toISOString(),
          expiresAt: new Date(now.getTime() + req.ttlSeconds * 1000).toISOString(),
        };
        const signed = signOverride(doc, this.deps.signingKey());
        const record = {
          id: doc.id,
          environment: env,
          document: overrideSigningText(doc),
          keyId: signed.keyId,
          signature: signed.signature,
          nonce: doc.nonce,
          reason: doc.reason,
          issuedBy: doc.issuedBy,
          issuedAt: doc.issuedAt,
          expiresAt: doc.expiresAt,
        };
        await scope.overrides.insert(record);
        const full: OverrideRecord = {
          ...record,
          tenantId: principal.tenantId,
          consumedAt: null,
          executionId: null,
          revokedAt: null,
          revokedBy: null,
          revokeReason: null,
        };
        return {
          result: { ...toView(full, now), signed },
          resource: `override:${doc.id}`,
          details: {
            breakGlass: true,
            environment: env,
            tools,
            actions,
            reason: doc.reason,
            expiresAt: doc.expiresAt,
            keyId: signed.keyId,
          },
        };
      }),
    );
    return issued;
  }

  /**
   * Revocation is itself privileged and audited (invariant 14): a human principal the policy
   * allows `override.revoke` (baseline: operator, admin). Its audit entry is written before the
   * revocation record, in the same transaction.
   */
  async revoke(principal: Principal, id: string, body: unknown): Promise<OverrideView> {
    const req = parseOrThrow(RevokeOverrideSchema, body ?? {}, 'body');
    const row = await this.deps.store.scope(principal.tenantId).overrides.get(id);
    if (!row) throw new CountersignError('NOT_FOUND', `override ${id} not found`);
    return this.#notifying(principal, 'override.revoke', id, row.environment, req.reason, () =>
      requirePrivilege(this.deps, principal, 'override.revoke', overrideResource(row), async (scope) => {
        // An operator identity is a person: the agents being governed cannot cut an emergency
        // fix short, whatever groups they were put in (checked in code, like separation of duties).
        if (principal.kind !== 'human') {
          throw new CountersignError('POLICY_DENIED', 'only a human operator can revoke an override');
        }
        const at = this.deps.runtime.now();
        await scope.audit({
          actor: principal.id,
          action: 'override.revoke',
          outcome: 'allowed',
          resource: `override:${id}`,
          details: { breakGlass: true, stage: 'before-revocation', reason: req.reason },
        });
        if (!(await scope.overrides.revoke(id, principal.id, at.toISOString(), req.reason))) {
          throw new CountersignError('CONFLICT', `override ${id} is already revoked`);
        }
        const after = await scope.overrides.get(id);
        if (!after) throw new CountersignError('CONFLICT', `override ${id} changed concurrently; retry`);
        return {
          result: toView(after, at),
          resource: `override:${id}`,
          details: { breakGlass: true, reason: req.reason, execution: after.executionId, wasUsed: after.consumedAt !== null },
        };
      }),
    );
  }

  /** Overrides are part of the record: listed to whoever may read the audit log. */
  async list(principal: Principal, limit = 50): Promise<{ overrides: OverrideView[] }> {
    await requireRead(this.deps, principal, 'audit.read', { type: 'Tenant', id: principal.tenantId, tenantId: principal.tenantId });
    const rows = await this.deps.store.scope(principal.tenantId).overrides.list(Math.min(Math.max(limit, 1), 200));
    const now = this.deps.runtime.now();
    return { overrides: rows.map((r) => toView(r, now)) };
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
    if (!verifyOverrideText(record.document, record.keyId, record.signature, this.deps.verificationKeys)) {
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

  async #notifying<T extends { id: string }>(
    principal: Principal,
    event: BreakGlassNotification['event'],
    id: string | null,
    environment: string,
    reason: string,
    decide: () => Promise<T>,
  ): Promise<T> {
    try {
      const result = await decide();
      this.notify(principal, event, 'allowed', { override: result.id, environment, reason });
      return result;
    } catch (err) {
      const code = err instanceof CountersignError ? err.code : 'INTERNAL';
      this.notify(principal, event, 'refused', { override: id, environment, reason, details: { code } });
      throw err;
    }
  }
}
