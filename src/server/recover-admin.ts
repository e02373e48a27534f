import { loadConfig } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { type RecoveredAdmin, systemPrincipal } from '../operations/index.ts';
import { type Runtime, systemRuntime } from '../runtime.ts';
import type { ContextOverrides } from './context.ts';
import { dataDirPaths } from './datadir.ts';
import { hostPipelineFor, localOperator } from './host.ts';
import { DEFAULT_TENANT } from './init.ts';
import { openStore } from './store-binding.ts';

export interface RecoverAdminOptions extends Pick<ContextOverrides, 'databaseUrl' | 'env' | 'runtime'> {
  /** Tenant by name; `default` unless given. */
  tenant?: string;
}

export interface RecoverAdminResult extends RecoveredAdmin {
  tenantId: string;
  tenant: string;
}

/**
 * `countersign principal recover-admin`: runs the `principal.recover-admin` host operation
 * (src/operations/recover-admin.ts) on the data directory's store, as the host's `system`
 * principal bound to the tenant, decided by the directory's policies and audited like every
 * other operation.
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
    const pipeline = hostPipelineFor(paths.dir, store, config, runtime);
    const r = await pipeline.run<RecoveredAdmin>(
      'principal.recover-admin',
      systemPrincipal(tenant.id),
      { operator: localOperator() },
      'host',
    );
    return { ...r, tenantId: tenant.id, tenant: tenantName };
  } finally {
    await store.close();
  }
}
