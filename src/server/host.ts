import { userInfo } from 'node:os';
import { loadConfig } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { type HostDeps, hostPipeline, type Pipeline, type ToolSetSource } from '../operations/index.ts';
import type { Authorizer } from '../policy/index.ts';
import { BASELINE_SCHEMA, baselinePolicySet, CedarAuthorizer, loadCedarAuthorizer } from '../policy/index.ts';
import { type Runtime, systemRuntime } from '../runtime.ts';
import type { Store } from '../store/index.ts';
import { type DataDirPaths, dataDirPaths } from './datadir.ts';
import { keyLocations } from './key-location.ts';

/**
 * The pipeline of host operator commands (init, `grant rotate-key`, tenant provisioning) over a
 * data directory: its own policies decide them, as they decide every other operation.
 */
export function hostPipelineFor(
  dir: string,
  store: Store,
  runtime: Runtime = systemRuntime,
  authorizer?: Authorizer,
  toolSet?: ToolSetSource,
  tools: Pick<HostDeps, 'policyUpgrader' | 'checkpoint'> = {},
): Pipeline {
  const paths = dataDirPaths(dir);
  return hostPipeline({
    store,
    authorizer: authorizer ?? loadCedarAuthorizer(paths.dir),
    runtime,
    keysDir: configuredKeysDir(paths),
    ...(toolSet ? { toolSet } : {}),
    ...tools,
  });
}

/**
 * Where countersign.yaml puts the keys (`keys.dir`, else <dir>/keys): `grant rotate-key` writes
 * there, and the API and executors read there. A directory without countersign.yaml (a restore
 * target before its files are back) keeps <dir>/keys; a config that does not load stops here.
 */
function configuredKeysDir(paths: DataDirPaths): string {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(paths.dir);
  } catch (err) {
    if (err instanceof CountersignError && err.code === 'NOT_INITIALIZED') return paths.keys;
    throw err;
  }
  return keyLocations(paths, config).keys;
}

/** Who ran a command on the host (the account name), for the audit entry's details. */
export function localOperator(): string {
  try {
    return `operator:local:${userInfo().username}`;
  } catch {
    return 'operator:local';
  }
}

/** The baseline policy set, for host work on a store that has no data directory (store tests). */
export function baselineAuthorizer(): Authorizer {
  return new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA);
}
