import type { Config } from '../config/index.ts';
import { NO_TENANT, type Store } from '../store/index.ts';
import type { ManifestTrust, ToolRegistry } from '../tools/index.ts';
import { TrustedKeyCache } from './keys.ts';
import { loadThreshold } from './policy.ts';

/** The system scope for installation-level audit entries (init, start). */
const SYSTEM = NO_TENANT;

/** What loadToolDir needs, read from the trust store as it is at start. */
export async function manifestTrustAtStart(store: Store, config: Readonly<Config>): Promise<ManifestTrust> {
  const keys = await new TrustedKeyCache().current(store.scope(SYSTEM).installationTrust);
  return { keys, required: loadThreshold(config.trust), developmentMode: config.developmentMode };
}

/**
 * Says loudly, at every start, what verification refused and what development mode let through:
 * a line on stderr and an audit entry for each (invariant 13: unsigned manifests are marked and
 * audited; a refused manifest is never silent).
 */
export async function reportToolLoad(
  store: Store,
  registry: ToolRegistry,
  developmentMode: boolean,
  process: string,
  warn: (line: string) => void,
): Promise<void> {
  const system = store.scope(SYSTEM);
  if (developmentMode) {
    warn(`WARNING: developmentMode is ON (${process}) — unsigned tool manifests are allowed, marked and audited. Never in production.`);
  }
  for (const r of registry.refused()) {
    warn(`REFUSED tool manifest ${r.file}${r.name ? ` (${r.name})` : ''}: ${r.reason}`);
    await system.audit({
      actor: 'system',
      action: 'system.start',
      outcome: 'denied',
      resource: `tool:${r.name ?? r.file}`,
      details: { process, file: r.file, refused: r.reason },
    });
  }
  const unsigned = registry.list().filter((t) => t.unsigned);
  if (unsigned.length > 0) {
    const names = unsigned.map((t) => t.manifest.name);
    warn(`WARNING: UNSIGNED tool manifests loaded because developmentMode is on: ${names.join(', ')}`);
    await system.audit({
      actor: 'system',
      action: 'system.start',
      outcome: 'allowed',
      resource: 'tools:unsigned',
      details: { process, warning: 'UNSIGNED tool manifests loaded (developmentMode)', tools: names },
    });
  }
}
