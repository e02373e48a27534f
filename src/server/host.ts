import { userInfo } from 'node:os';
import type { Config } from '../config/index.ts';
import { type HostDeps, hostPipeline, type Pipeline, type ToolSetSource } from '../operations/index.ts';
import type { Authorizer } from '../policy/index.ts';
import { BASELINE_SCHEMA, baselinePolicySet, CedarAuthorizer, loadCedarAuthorizer } from '../policy/index.ts';
import { type Runtime, systemRuntime } from '../runtime.ts';
import type { Store } from '../store/index.ts';
import { dataDirPaths } from './datadir.ts';
import { keyLocations } from './key-location.ts';

/**
 * The pipeline of host operator commands (init, `grant rotate-key`, tenant provisioning) over a
 * data directory: its own policies decide them, as they decide every other operation.
 */
export function hostPipelineFor(
  dir: string,
  store: Store,
  /** The directory's config as the caller loaded it: its `keys.dir` is where host operations write keys. */
  config: Pick<Config, 'keys'>,
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
    // Where countersign.yaml puts the keys (`keys.dir`, else <dir>/keys): `grant rotate-key` writes
    // there, and the API and executors read there.
    keysDir: keyLocations(paths, config).keys,
    ...(toolSet ? { toolSet } : {}),
    ...tools,
  });
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
