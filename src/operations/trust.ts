import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import { parsePublisherPublicKey } from '../tools/index.ts';
import { AddTrustedKeySchema, RemoveTrustedKeySchema, type TrustedKeyView, type TrustListView, trustedKeyView } from '../trust/index.ts';
import type { OperationDeps } from './deps.ts';
import { tenantResource } from './plans.ts';
import type { AnyOperation, Guard, Operation } from './types.ts';

/**
 * The trust store is installation-wide, so only principals of `trust.adminTenant` may change it:
 * an admin of any other tenant is refused even where policy would allow (a `denied` refusal).
 * The admin tenant's id is looked up before the transaction (prepare) and checked as a guard.
 */
function adminTenantOnly<I>(deps: OperationDeps): Guard<I, AdminTenant> {
  return (_tx, loaded, _i, ctx) => {
    if (!loaded.adminTenantId || ctx.principal.tenantId !== loaded.adminTenantId) {
      throw new CountersignError(
        'POLICY_DENIED',
        `the trust store is installation-wide; only principals of tenant "${deps.trust.adminTenant}" may change it`,
      );
    }
  };
}

async function adminTenantId(deps: OperationDeps): Promise<string | null> {
  return (await deps.store.findTenantByName(deps.trust.adminTenant))?.id ?? null;
}

type AddInput = z.infer<typeof AddTrustedKeySchema>;
type RemoveInput = z.infer<typeof RemoveTrustedKeySchema> & { keyId: string };
interface AdminTenant {
  adminTenantId: string | null;
}

export function trustOperations(deps: OperationDeps): AnyOperation[] {
  const add: Operation<AddInput, AdminTenant, TrustedKeyView, string | null> = {
    name: 'trust.add',
    action: 'trust.change',
    kind: 'mutation',
    summary: 'Trust a tool publisher key (installation-wide).',
    input: AddTrustedKeySchema,
    prepare: () => adminTenantId(deps),
    load: async (_tx, _i, _ctx, id) => ({ adminTenantId: id }),
    resource: (_l, _i, ctx) => tenantResource(ctx),
    guards: [adminTenantOnly(deps)],
    act: async (tx, _l, req, ctx) => {
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
        addedBy: ctx.principal.id,
        addedTenant: ctx.principal.tenantId,
        addedAt: ctx.now.toISOString(),
      };
      if (!(await tx.installationTrust.add(record)))
        throw new CountersignError('CONFLICT', `publisher key ${parsed.keyId} is already trusted`);
      return {
        result: trustedKeyView({ ...record, removedAt: null, removedBy: null, removeReason: null }),
        resource: `trusted-key:${parsed.keyId}`,
        details: { op: 'add', keyId: parsed.keyId, name: record.name },
      };
    },
  };
  const remove: Operation<RemoveInput, AdminTenant, TrustedKeyView, string | null> = {
    name: 'trust.remove',
    action: 'trust.change',
    kind: 'mutation',
    summary: 'Stop trusting a tool publisher key; tools that need it are refused from then on.',
    input: RemoveTrustedKeySchema.extend({ keyId: z.string().min(1).max(64) }).strict(),
    prepare: () => adminTenantId(deps),
    load: async (_tx, _i, _ctx, id) => ({ adminTenantId: id }),
    resource: (_l, _i, ctx) => tenantResource(ctx),
    guards: [adminTenantOnly(deps)],
    act: async (tx, _l, req, ctx) => {
      if (!(await tx.installationTrust.remove(req.keyId, ctx.principal.id, ctx.now.toISOString(), req.reason ?? null))) {
        throw new CountersignError('NOT_FOUND', `publisher key ${req.keyId} is not trusted`);
      }
      const after = await tx.installationTrust.get(req.keyId);
      if (!after) throw new CountersignError('CONFLICT', `publisher key ${req.keyId} changed concurrently; retry`);
      return {
        result: trustedKeyView(after),
        resource: `trusted-key:${req.keyId}`,
        details: { op: 'remove', keyId: req.keyId, reason: req.reason ?? null },
      };
    },
  };
  /** Who may change trust may read it: there is no separate read action in the policy schema. */
  const list: Operation<Record<string, never>, null, TrustListView> = {
    name: 'trust.list',
    action: 'trust.change',
    kind: 'read',
    summary: 'The trusted publisher keys and the K-of-N signature policy.',
    input: z.object({}).strict(),
    load: async () => null,
    resource: (_l, _i, ctx) => tenantResource(ctx),
    act: async (tx) => ({
      result: {
        keys: (await tx.installationTrust.active()).map(trustedKeyView),
        policy: { required: deps.trust.required, environments: { ...deps.trust.environments } },
      },
    }),
  };
  return [add, remove, list];
}
