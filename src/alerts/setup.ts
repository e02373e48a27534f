import { join } from 'node:path';
import type { AlertsConfig, Config } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { WindowCounts } from '../limits/index.ts';
import type { Pipeline } from '../operations/index.ts';
import type { Runtime } from '../runtime.ts';
import { resolveSecret } from '../secrets/index.ts';
import { NO_TENANT, type Store } from '../store/index.ts';
import type { ManifestTrust, ToolRegistry } from '../tools/index.ts';
import { AlertIntake, type ResolvedSource } from './intake.ts';
import { createModelClient, type ModelCallObserver, type ModelClient } from './models.ts';
import { type LoadedPlaybook, loadPlaybookDir, type RefusedPlaybook } from './playbooks.ts';

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

/** What `alerts:` in countersign.yaml resolves to: sources with their secrets, model clients. */
export interface AlertSettings {
  config: AlertsConfig;
  sources: ReadonlyMap<string, ResolvedSource>;
  models: ReadonlyMap<string, ModelClient>;
}

/**
 * Resolves `alerts:` (at start and on SIGHUP): every source secret and model key is read now (a
 * missing one refuses: fail closed), and a source naming a tenant that does not exist is a broken
 * config. New secret values join the values redacted from logs and audit details.
 */
export async function resolveAlertSettings(a: AlertsConfig, store: Store, env: NodeJS.ProcessEnv): Promise<AlertSettings> {
  const sources = new Map<string, ResolvedSource>();
  const known: string[] = [];
  for (const s of a.sources) {
    if (!(await store.findTenantByName(s.tenant))) {
      throw new CountersignError('CONFIG_INVALID', `alerts.sources: ${s.name} names tenant "${s.tenant}", which does not exist`);
    }
    const secrets: string[] = [];
    for (const [i, from] of s.secrets.entries())
      secrets.push(await resolveSecret({ name: `alerts.sources.${s.name}.secrets[${i}]`, from }, { env, privateFilesOnly: true }));
    sources.set(s.name, { config: s, secrets });
    known.push(...secrets);
  }
  const models = new Map<string, ModelClient>();
  for (const [name, m] of Object.entries(a.models)) {
    const key = m.apiKey
      ? await resolveSecret({ name: `alerts.models.${name}.apiKey`, from: m.apiKey }, { env, privateFilesOnly: true })
      : null;
    if (key) known.push(key);
    models.set(name, createModelClient(name, m, key));
  }
  store.knownSecrets.add(known);
  return { config: a, sources, models };
}

/** Playbooks naming a model that `alerts.models` does not configure. */
export function playbooksMissingModels(playbooks: readonly LoadedPlaybook[], models: ReadonlyMap<string, unknown>): RefusedPlaybook[] {
  const out: RefusedPlaybook[] = [];
  for (const p of playbooks) {
    const missing = [p.playbook.planner?.model, ...(p.playbook.reviewers?.models ?? [])].filter((m): m is string => !!m && !models.has(m));
    if (missing.length > 0) out.push({ file: p.file, reason: `names models that alerts.models does not configure: ${missing.join(', ')}` });
  }
  return out;
}

/**
 * `<dir>/playbooks` verified like tools (signatures from the trust store, templates against the
 * tools loaded now) and against the configured models: the playbooks that pass, and why each
 * other one was refused.
 */
export function verifyPlaybooks(
  dir: string,
  trust: ManifestTrust,
  tools: ToolRegistry,
  models: ReadonlyMap<string, unknown>,
): { playbooks: LoadedPlaybook[]; refused: RefusedPlaybook[] } {
  const loaded = loadPlaybookDir(playbookDir(dir), trust, tools);
  const missing = playbooksMissingModels(loaded.playbooks, models);
  const playbooks = loaded.playbooks.filter((p) => !missing.some((m) => m.file === p.file));
  return { playbooks, refused: [...loaded.refused, ...missing] };
}

/**
 * Builds the intake at start: settings resolved (a missing secret stops the start), playbooks
 * verified, and each refused playbook said loudly and audited, as refused tool manifests are.
 */
export async function openAlertIntake(o: AlertIntakeOptions): Promise<AlertIntake> {
  const settings = await resolveAlertSettings(o.config.alerts, o.store, o.env);
  const { playbooks, refused } = verifyPlaybooks(o.dir, o.trust, o.tools, settings.models);
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
    ...settings,
    playbooks,
    // replicas: every API replica on PostgreSQL counts a source's deliveries in one place.
    counts: new WindowCounts(o.store.engine === 'postgres' ? o.store.budgetCounters : null, () => o.runtime.now().getTime()),
    modelCalls: o.modelCalls,
  });
}
