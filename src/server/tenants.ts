import { DEFAULT_ENVIRONMENTS, hostPipeline, type ProvisionedTenant, systemPrincipal } from '../operations/index.ts';
import type { Authorizer } from '../policy/index.ts';
import type { Runtime } from '../runtime.ts';
import type { Store } from '../store/index.ts';
import { baselineAuthorizer } from './host.ts';

export { DEFAULT_ENVIRONMENTS, type ProvisionedTenant };

/**
 * Provisions a tenant through the `tenant.create` host operation: its environments and an admin
 * principal and key, in one transaction with its audit entry. Decided by `authorizer` (the data
 * directory's policies; the baseline when none is given).
 */
export async function provisionTenant(
  store: Store,
  runtime: Runtime,
  name: string,
  environments: readonly string[] = DEFAULT_ENVIRONMENTS,
  authorizer: Authorizer = baselineAuthorizer(),
): Promise<ProvisionedTenant> {
  const tenantId = runtime.newId('ten');
  const pipeline = hostPipeline({ store, authorizer, runtime, keysDir: '' });
  return pipeline.run<ProvisionedTenant>('tenant.create', systemPrincipal(tenantId), { name, environments: [...environments] }, 'host');
}
