import { z } from 'zod';
import type { TrustConfig } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { parseOrThrow } from '../plans/service.ts';
import { type PrivilegeDeps, requirePrivilege, requireRead } from '../policy/require-privilege.ts';
import type { Principal, ResourceRef } from '../policy/types.ts';
import type { Runtime } from '../runtime.ts';
import type { TrustedKeyRecord } from '../store/index.ts';
import { parsePublisherPublicKey } from '../tools/index.ts';
import type { TrustedKeyView, TrustListView } from './view.ts';

export const AddTrustedKeySchema = z
  .object({
    /** The publisher's Ed25519 public key, SPKI PEM (the `.pub` file `tool keygen` writes). */
    publicKey: z.string().min(1).max(4096),
    /** A label for people: who publishes with this key. */
    name: z.string().trim().min(1).max(128).optional(),
    /** When given, must equal the key's id: guards against adding the wrong file. */
    keyId: z
      .string()
      .regex(/^[0-9a-f]{16}$/)
      .optional(),
  })
  .strict();

export const RemoveTrustedKeySchema = z.object({ reason: z.string().trim().min(1).max(2000).optional() }).strict();

export type { TrustedKeyView, TrustListView } from './view.ts';

function toView(r: TrustedKeyRecord): TrustedKeyView {
  return {
    keyId: r.keyId,
    name: r.name,
    publicKey: r.publicKey,
    addedBy: r.addedBy,
    addedAt: r.addedAt,
    removedAt: r.removedAt,
    removedBy: r.removedBy,
  };
}

export interface TrustServiceDeps extends PrivilegeDeps {
  runtime: Runtime;
  trust: TrustConfig;
}

/**
 * The trust store of tool publisher keys, changed only through the chokepoint (invariants 2 and
 * 13). The store is installation-wide, so only principals of `trust.adminTenant` may change it:
 * an admin of any other tenant is refused even where policy would allow.
 */
export class TrustService {
  constructor(private readonly deps: TrustServiceDeps) {}

  async add(principal: Principal, body: unknown): Promise<TrustedKeyView> {
    const req = parseOrThrow(AddTrustedKeySchema, body ?? {}, 'body');
    const adminTenant = await this.#adminTenantId();
    return requirePrivilege(this.deps, principal, 'trust.change', tenantResource(principal), async (scope) => {
      this.#assertAdminTenant(principal, adminTenant);
      const parsed = parsePublisherPublicKey(req.publicKey);
      if (req.keyId && req.keyId !== parsed.keyId) {
        throw new CountersignError('VALIDATION_FAILED', `keyId: the key's id is ${parsed.keyId}, not ${req.keyId}`, {
          details: { field: 'keyId' },
        });
      }
      const record = {
        keyId: parsed.keyId,
        publicKey: parsed.pem,
        name: req.name ?? parsed.keyId,
        addedBy: principal.id,
        addedTenant: principal.tenantId,
        addedAt: this.deps.runtime.now().toISOString(),
      };
      if (!(await scope.installationTrust.add(record))) {
        throw new CountersignError('CONFLICT', `publisher key ${parsed.keyId} is already trusted`);
      }
      return {
        result: toView({ ...record, removedAt: null, removedBy: null, removeReason: null }),
        resource: `trusted-key:${parsed.keyId}`,
        details: { op: 'add', keyId: parsed.keyId, name: record.name },
      };
    });
  }

  async remove(principal: Principal, keyId: string, body: unknown): Promise<TrustedKeyView> {
    const req = parseOrThrow(RemoveTrustedKeySchema, body ?? {}, 'body');
    const adminTenant = await this.#adminTenantId();
    return requirePrivilege(this.deps, principal, 'trust.change', tenantResource(principal), async (scope) => {
      this.#assertAdminTenant(principal, adminTenant);
      const at = this.deps.runtime.now().toISOString();
      if (!(await scope.installationTrust.remove(keyId, principal.id, at, req.reason ?? null))) {
        throw new CountersignError('NOT_FOUND', `publisher key ${keyId} is not trusted`);
      }
      const after = await scope.installationTrust.get(keyId);
      if (!after) throw new CountersignError('CONFLICT', `publisher key ${keyId} changed concurrently; retry`);
      return {
        result: toView(after),
        resource: `trusted-key:${keyId}`,
        details: { op: 'remove', keyId, reason: req.reason ?? null },
      };
    });
  }

  /** Who may change trust may read it: there is no separate read action in the policy schema. */
  async list(principal: Principal): Promise<TrustListView> {
    await requireRead(this.deps, principal, 'trust.change', tenantResource(principal));
    const keys = await this.deps.store.scope(principal.tenantId).installationTrust.active();
    return {
      keys: keys.map(toView),
      policy: { required: this.deps.trust.required, environments: { ...this.deps.trust.environments } },
    };
  }

  async #adminTenantId(): Promise<string | null> {
    return (await this.deps.store.findTenantByName(this.deps.trust.adminTenant))?.id ?? null;
  }

  #assertAdminTenant(principal: Principal, adminTenantId: string | null): void {
    if (adminTenantId === null || principal.tenantId !== adminTenantId) {
      throw new CountersignError(
        'POLICY_DENIED',
        `the trust store is installation-wide; only principals of tenant "${this.deps.trust.adminTenant}" may change it`,
      );
    }
  }
}

function tenantResource(principal: Principal): ResourceRef {
  return { type: 'Tenant', id: principal.tenantId, tenantId: principal.tenantId };
}
