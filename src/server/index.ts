// The public surface of this domain: other domains import from here, never from the files behind it.
export type { ContextOverrides, ServerContext } from './context.ts';
export { type DataDirPaths, dataDirPaths } from './datadir.ts';
export { baselineAuthorizer, hostPipelineFor, localOperator } from './host.ts';
export type { InitResult } from './init.ts';
export { recoverAdmin } from './recover-admin.ts';
export { boundStoreUrl, openStore } from './store-binding.ts';
export { ToolReloader, type ToolReloadOutcome, toolSetSource } from './tool-reload.ts';
export { VERSION } from './version.ts';
