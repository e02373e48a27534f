import { userInfo } from 'node:os';
import { generateApiKey } from '../auth/index.ts';
import { loadConfig } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { type Runtime, systemRuntime } from '../runtime.ts';
import type { ContextOverrides } from './context.ts';
import { dataDirPaths } from './datadir.ts';
import { DEFAULT_TENANT } from './init.ts';
import { openStore } from './store-binding.ts';

/** The principal init creates in every tenant; recovery restores access to it. */
export const ADMIN_PRINCIPAL = 'admin';

export interface RecoverAdminOptions extends Pick<ContextOverrides, 'databaseUrl' | 'env' | 'runtime'> {
  /** Tenant by name; `default` unless given. */
  tenant?: string;
}

export interface RecoverAdminResult {
  tenantId: string;
  tenant: string;
  principalId: string;
  /** The new API key, shown once; never stored in clear. */
  key: string;
  keyId: string;
  /** Every key of the admin principal that worked until now, revoked. */
  revokedKeyIds: string[];
  /** True when the admin principal had been disabled and is enabled again. */
  reenabled: boolean;
}

/** Who acted: the host operator, named by the account that ran the command. */
function localOperator(): string {
  try {
    return `operator:local:${userInfo().username}`;
  } catch {
    return 'operator:local';
  }
}

/**
 * `countersign principal recover-admin`: when the tenant admin's key is lost (or the admin was
 * disabled), the host operator — whoever holds the data directory, and with it the audit and
 * grant keys — gives the admin principal one new key and revokes all its others, in one
 * transaction with its audit entries. No API path does this: the server cannot authenticate
 * someone who has lost every key.
 */
export async function recoverAdmin(dir: string, options: RecoverAdminOptions = {}): Promise<RecoverAdminResult> {
  const paths = dataDirPaths(dir);
  const config = loadConfig(paths.dir, options.env ?? process.env);
  const runtime: Runtime = options.runtime ?? systemRuntime;
  const tenantName = options.tenant ?? DEFAULT_TENANT;
  const store = await openStore(paths.dir, config, options, 'write');
  try {
    const tenant = await store.findTenantByName(tenantName);
    if (!tenant) throw new CountersignError('NOT_FOUND', `no tenant named "${tenantName}" in this installation`);
    return await store.transaction(tenant.id, async (scope) => {
      const admin = await scope.directory.findPrincipalByName(ADMIN_PRINCIPAL);
      if (!admin?.groups.includes('admin')) {
        throw new CountersignError('NOT_FOUND', `tenant "${tenantName}" has no principal "${ADMIN_PRINCIPAL}" in group admin`);
      }
      const revoked = (await scope.directory.listApiKeys(admin.id)).filter((k) => k.revokedAt === null).map((k) => k.id);
      const key = generateApiKey((p) => runtime.newId(p));
      const at = runtime.now().toISOString();
      const actor = localOperator();
      // Audit before effect, in the same transaction: the entry names everything that follows.
      await scope.audit({
        actor,
        action: 'principal.recover-admin',
        outcome: 'succeeded',
        resource: `principal:${admin.id}`,
        details: { tenant: tenantName, newKey: key.id, revokedKeys: revoked, reenabled: admin.disabled },
      });
      for (const id of revoked) {
        await scope.directory.revokeApiKey(id, at);
        await scope.audit({ actor, action: 'key.revoke', outcome: 'succeeded', resource: `key:${id}`, details: { recovery: true } });
      }
      if (admin.disabled) await scope.directory.setPrincipalDisabled(admin.id, false);
      await scope.directory.insertApiKey({
        id: key.id,
        principalId: admin.id,
        secretHash: key.secretHash,
        description: 'tenant admin key (recovered by the host operator)',
        createdAt: at,
        lastUsedAt: null,
        revokedAt: null,
      });
      await scope.audit({
        actor,
        action: 'key.create',
        outcome: 'succeeded',
        resource: `key:${key.id}`,
        details: { principal: admin.id, recovery: true },
      });
      return {
        tenantId: tenant.id,
        tenant: tenantName,
        principalId: admin.id,
        key: key.token,
        keyId: key.id,
        revokedKeyIds: revoked,
        reenabled: admin.disabled,
      };
    });
  } finally {
    await store.close();
  }
}
