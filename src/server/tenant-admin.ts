import { type Config, loadConfig } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { DEFAULT_ENVIRONMENTS, type ProvisionedTenant, systemPrincipal } from '../operations/index.ts';
import { type Runtime, systemRuntime } from '../runtime.ts';
import type { Store } from '../store/index.ts';
import type { ContextOverrides } from './context.ts';
import { dataDirPaths } from './datadir.ts';
import { hostPipelineFor } from './host.ts';
import { openStore } from './store-binding.ts';

type HostOptions = Pick<ContextOverrides, 'databaseUrl' | 'env' | 'runtime'>;

export interface AddedTenant extends ProvisionedTenant {
  name: string;
  environments: string[];
}

export interface TenantListing {
  tenants: { id: string; name: string; createdAt: string; environments: { name: string; frozen: boolean }[] }[];
}

async function onDataDir<T>(
  dir: string,
  options: HostOptions,
  access: 'write' | 'read',
  fn: (store: Store, paths: ReturnType<typeof dataDirPaths>, config: Readonly<Config>) => Promise<T>,
): Promise<T> {
  const paths = dataDirPaths(dir);
  const config = loadConfig(paths.dir, options.env ?? process.env);
  const store = await openStore(paths.dir, config, options, access);
  try {
    return await fn(store, paths, config);
  } finally {
    await store.close();
  }
}

const duplicate = (name: string) =>
  new CountersignError('CONFLICT', `a tenant named "${name}" already exists; pick another name (countersign tenant list shows them)`);

/**
 * `countersign tenant add`: the `tenant.create` host operation on the data directory's store —
 * the tenant, its environments, an admin principal and its key in one transaction with the audit
 * entry — decided by the directory's own policies. The admin key is returned once.
 */
export async function addTenant(
  dir: string,
  name: string,
  environments: readonly string[] = DEFAULT_ENVIRONMENTS,
  options: HostOptions = {},
): Promise<AddedTenant> {
  const runtime: Runtime = options.runtime ?? systemRuntime;
  return onDataDir(dir, options, 'write', async (store, paths, config) => {
    if (await store.findTenantByName(name)) throw duplicate(name);
    const pipeline = hostPipelineFor(paths.dir, store, config, runtime);
    try {
      const r = await pipeline.run<ProvisionedTenant>(
        'tenant.create',
        systemPrincipal(runtime.newId('ten')),
        { name, environments: [...environments] },
        'host',
      );
      return { ...r, name, environments: [...environments] };
    } catch (err) {
      // Two operators adding the same name at once: the unique name decides, and the loser is told plainly.
      if (!(err instanceof CountersignError) && (await store.findTenantByName(name))) throw duplicate(name);
      throw err;
    }
  });
}

/** `countersign tenant list`: every tenant of the installation with its environments (read-only). */
export async function listTenants(dir: string, options: HostOptions = {}): Promise<TenantListing> {
  return onDataDir(dir, options, 'read', async (store) => {
    const tenants = await store.listTenantsForOperator();
    return {
      tenants: await Promise.all(tenants.map(async (t) => ({ ...t, environments: await store.scope(t.id).directory.listEnvironments() }))),
    };
  });
}
