import { generateApiKey } from '../auth/index.ts';
import type { Runtime } from '../runtime.ts';
import type { Store } from '../store/index.ts';

export const DEFAULT_ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;

export interface ProvisionedTenant {
  tenantId: string;
  adminPrincipalId: string;
  /** The admin's API key, returned once and never stored in clear. */
  adminKey: string;
}

/**
 * Creates a tenant with its environments and an admin principal + key, in one transaction with
 * an audit entry for each piece: either all of it exists, with its entries, or none of it.
 */
export async function provisionTenant(
  store: Store,
  runtime: Runtime,
  name: string,
  environments: readonly string[] = DEFAULT_ENVIRONMENTS,
): Promise<ProvisionedTenant> {
  const tenantId = runtime.newId('ten');
  const adminId = runtime.newId('prn');
  const key = generateApiKey((p) => runtime.newId(p));
  const at = runtime.now().toISOString();
  await store.transaction(tenantId, async (scope) => {
    await scope.directory.insertTenant(name, at);
    await scope.audit({
      actor: 'system',
      action: 'tenant.create',
      outcome: 'succeeded',
      resource: `tenant:${tenantId}`,
      details: { name },
    });
    for (const env of environments) {
      await scope.directory.insertEnvironment(env, at);
      await scope.audit({ actor: 'system', action: 'environment.create', outcome: 'succeeded', resource: `environment:${env}` });
    }
    await scope.directory.insertPrincipal({ id: adminId, name: 'admin', kind: 'human', groups: ['admin'], disabled: false, createdAt: at });
    await scope.audit({
      actor: 'system',
      action: 'principal.create',
      outcome: 'succeeded',
      resource: `principal:${adminId}`,
      details: { name: 'admin', kind: 'human', groups: ['admin'] },
    });
    await scope.directory.insertApiKey({
      id: key.id,
      principalId: adminId,
      secretHash: key.secretHash,
      description: 'tenant admin key',
      createdAt: at,
      lastUsedAt: null,
      revokedAt: null,
    });
    await scope.audit({
      actor: 'system',
      action: 'key.create',
      outcome: 'succeeded',
      resource: `key:${key.id}`,
      details: { principal: adminId },
    });
  });
  return { tenantId, adminPrincipalId: adminId, adminKey: key.token };
}
