import type { Config } from '../config/index.ts';
import type { Store } from '../store/index.ts';
import { type ManifestTrust, parsePublisherPublicKey, type ToolRegistry } from '../tools/index.ts';
import { TrustedKeyCache } from './keys.ts';
import { loadThreshold } from './policy.ts';

/** The system scope for installation-level audit entries (init, start). */
const SYSTEM = '-';

/** What loadToolDir needs, read from the trust store as it is at start. */
export async function manifestTrustAtStart(store: Store, config: Readonly<Config>): Promise<ManifestTrust> {
  const keys = await new TrustedKeyCache().current(store.scope(SYSTEM).installationTrust);
  return { keys, required: loadThreshold(config.trust), developmentMode: config.developmentMode };
}

/**
 * Trusts the installation's own publisher key at init, audited: the entry and the trust row
 * commit together (invariant 11).
 */
export async function trustPublisherKeyAtInit(
  store: Store,
  publicKeyPem: string,
  at: string,
  name = 'local publisher (countersign init)',
): Promise<string> {
  const parsed = parsePublisherPublicKey(publicKeyPem);
  await store.transaction(SYSTEM, async (scope) => {
    await scope.audit({
      actor: 'system',
      action: 'trust.change',
      outcome: 'allowed',
      resource: `trusted-key:${parsed.keyId}`,
      details: { op: 'add', keyId: parsed.keyId, name },
    });
    await scope.installationTrust.add({
      keyId: parsed.keyId,
      publicKey: parsed.pem,
      name,
      addedBy: 'system:init',
      addedTenant: SYSTEM,
      addedAt: at,
    });
  });
  return parsed.keyId;
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
