// The public surface of this domain: other domains import from here, never from the files behind it.
export type { ContextOverrides, ServerContext } from './context.ts';
export { type DataDirPaths, dataDirPaths } from './datadir.ts';
export { baselineAuthorizer, hostPipelineFor, localOperator } from './host.ts';
export type { InitResult } from './init.ts';
export { keyLocations, keyPaths } from './key-location.ts';
export { recoverAdmin } from './recover-admin.ts';
export { boundStoreUrl, openStore } from './store-binding.ts';
// ---- replicas: tenant provisioning from the host ----
export { type AddedTenant, addTenant, listTenants, type TenantListing } from './tenant-admin.ts';
export { ToolReloader, type ToolReloadOutcome, toolSetSource } from './tool-reload.ts';
export { VERSION } from './version.ts';
