import { join } from 'node:path';
import type { Config } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import type { Pipeline } from '../operations/index.ts';
import type { Runtime } from '../runtime.ts';
import { resolveSecret } from '../secrets/index.ts';
import { NO_TENANT, type Store } from '../store/index.ts';
import type { ManifestTrust, ToolRegistry } from '../tools/index.ts';
import { AlertIntake, type ResolvedSource } from './intake.ts';
import { createModelClient, type ModelCallObserver, type ModelClient } from './models.ts';
import { loadPlaybookDir } from './playbooks.ts';

export interface AlertIntakeOptions {
  dir: string;
  config: Readonly<Config>;
  store: Store;
  tools: ToolRegistry;
  pipeline: Pipeline;
  runtime: Runtime;
  trust: ManifestTrust;
  env: NodeJS.ProcessEnv;
  warn: (line: string) => void;
  /** observability: model calls and refusals, for metrics. */
  modelCalls?: ModelCallObserver;
}

/** The playbooks directory of a data directory. */
export function playbookDir(dataDir: string): string {
  return join(dataDir, 'playbooks');
}

/**
 * Builds the intake at start: every source secret and model key is read now (a missing one
 * stops the start: fail closed), playbooks are verified like tools, and each refused playbook is
 * said loudly and audited, as refused tool manifests are.
 */
export async function openAlertIntake(o: AlertIntakeOptions): Promise<AlertIntake> {
  const a = o.config.alerts;
  const sources = new Map<string, ResolvedSource>();
  for (const s of a.sources) {
    // A source proposing into a tenant that does not exist is a broken config: refuse to start.
    if (!(await o.store.findTenantByName(s.tenant))) {
      throw new CountersignError('CONFIG_INVALID', `alerts.sources: ${s.name} names tenant "${s.tenant}", which does not exist`);
    }
    const secrets: string[] = [];
    for (const [i, from] of s.secrets.entries())
      secrets.push(await resolveSecret({ name: `alerts.sources.${s.name}.secrets[${i}]`, from }, { env: o.env }));
    sources.set(s.name, { config: s, secrets });
    o.store.knownSecrets.add(secrets);
  }
  const models = new Map<string, ModelClient>();
  for (const [name, m] of Object.entries(a.models)) {
    const key = m.apiKey ? await resolveSecret({ name: `alerts.models.${name}.apiKey`, from: m.apiKey }, { env: o.env }) : null;
    if (key) o.store.knownSecrets.add([key]);
    models.set(name, createModelClient(name, m, key));
  }
  const loaded = loadPlaybookDir(playbookDir(o.dir), o.trust, o.tools);
  const refused = [...loaded.refused];
  const playbooks = loaded.playbooks.filter((p) => {
    const missing = [p.playbook.planner?.model, ...(p.playbook.reviewers?.models ?? [])].filter((m): m is string => !!m && !models.has(m));
    if (missing.length > 0)
      refused.push({ file: p.file, reason: `names models that alerts.models does not configure: ${missing.join(', ')}` });
    return missing.length === 0;
  });
  for (const r of refused) {
    o.warn(`REFUSED playbook ${r.file}: ${r.reason}`);
    await o.store.scope(NO_TENANT).audit({
      actor: 'system',
      action: 'system.start',
      outcome: 'denied',
      resource: `playbook:${r.file}`,
      details: { process: 'api', refused: r.reason },
    });
  }
  const unsigned = playbooks.filter((p) => p.unsigned).map((p) => p.playbook.name);
  if (unsigned.length > 0) o.warn(`WARNING: UNSIGNED playbooks loaded because developmentMode is on: ${unsigned.join(', ')}`);
  return new AlertIntake({
    pipeline: o.pipeline,
    store: o.store,
    tools: o.tools,
    runtime: o.runtime,
    config: a,
    sources,
    playbooks,
    models,
    modelCalls: o.modelCalls,
  });
}
