import { z } from 'zod';
import { generateApiKey } from '../auth/index.ts';
import { CountersignError } from '../errors/index.ts';
import type { Runtime } from '../runtime.ts';
import type { PrincipalRecord as StoredPrincipal } from '../store/index.ts';
import type { Operation } from './types.ts';

/** The principal init creates in every tenant; recovery restores access to it. */
export const ADMIN_PRINCIPAL = 'admin';

const RecoverInput = z
  .object({
    /** Who ran the command on the host (the account name), for the record. */
    operator: z.string().min(1).max(200),
  })
  .strict();

export interface RecoveredAdmin {
  principalId: string;
  /** The new API key, returned once; never stored in clear. */
  key: string;
  keyId: string;
  /** Every key of the admin principal that worked until now, revoked. */
  revokedKeyIds: string[];
  /** True when the admin principal had been disabled and is enabled again. */
  reenabled: boolean;
}

/**
 * `countersign principal recover-admin`: when a tenant admin's keys are lost (or the admin was
 * disabled), the host operator, who holds the data directory and with it the audit and grant
 * keys, gives the admin principal one new key and revokes all its others, in one transaction
 * with its entries. Only the host can: no credential from the network reaches a host action,
 * and the server cannot authenticate someone who has lost every key.
 */
export function recoverAdminOperation(runtime: Runtime): Operation<z.infer<typeof RecoverInput>, StoredPrincipal, RecoveredAdmin> {
  return {
    name: 'principal.recover-admin',
    action: 'principal.recover-admin',
    kind: 'mutation',
    summary: "Give the tenant's admin principal one new key, revoking its others and enabling it (host operator).",
    input: RecoverInput,
    load: async (tx) => {
      const admin = await tx.directory.findPrincipalByName(ADMIN_PRINCIPAL);
      if (!admin?.groups.includes('admin')) {
        throw new CountersignError('NOT_FOUND', `this tenant has no principal "${ADMIN_PRINCIPAL}" in group admin`);
      }
      return admin;
    },
    resource: (admin) => ({ type: 'Principal', id: admin.id, tenantId: admin.tenantId }),
    act: async (tx, admin, req, ctx) => {
      const revoked = (await tx.directory.listApiKeys(admin.id)).filter((k) => k.revokedAt === null).map((k) => k.id);
      const key = generateApiKey((p) => runtime.newId(p));
      const at = ctx.now.toISOString();
      const actor = ctx.principal.id;
      for (const id of revoked) {
        await tx.directory.revokeApiKey(id, at);
        await tx.audit({ actor, action: 'key.revoke', outcome: 'succeeded', resource: `key:${id}`, details: { recovery: true } });
      }
      if (admin.disabled) await tx.directory.setPrincipalDisabled(admin.id, false);
      await tx.directory.insertApiKey({
        id: key.id,
        principalId: admin.id,
        secretHash: key.secretHash,
        description: 'tenant admin key (recovered by the host operator)',
        createdAt: at,
        lastUsedAt: null,
        revokedAt: null,
      });
      await tx.audit({
        actor,
        action: 'key.create',
        outcome: 'succeeded',
        resource: `key:${key.id}`,
        details: { principal: admin.id, recovery: true },
      });
      return {
        result: { principalId: admin.id, key: key.token, keyId: key.id, revokedKeyIds: revoked, reenabled: admin.disabled },
        resource: `principal:${admin.id}`,
        details: { operator: req.operator, newKey: key.id, revokedKeys: revoked, reenabled: admin.disabled },
      };
    },
  };
}
