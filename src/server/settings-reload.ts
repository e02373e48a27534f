import { type AlertIntake, type AlertSettings, playbooksMissingModels, resolveAlertSettings, verifyPlaybooks } from '../alerts/index.ts';
import { type Config, loadConfig } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import type { RequestBudgets } from '../limits/index.ts';
import {
  type ConfigReloadChanges,
  type Pipeline,
  type PlaybookReloadChanges,
  type PreparedReload,
  type ReloadSource,
  systemPrincipal,
} from '../operations/index.ts';
import type { Store } from '../store/index.ts';
import type { ToolRegistry } from '../tools/index.ts';
import { manifestTrustAtStart } from '../trust/index.ts';

/**
 * The settings of countersign.yaml a running API applies on SIGHUP. Everything else is read at
 * start into things that cannot be swapped safely while requests run (the listening socket, the
 * database pool, the executor's sandbox, the audit signer, OIDC key sets, the console's session
 * and cookie settings, the notifier) and waits for a restart.
 */
export const RELOADABLE_SETTINGS: readonly { path: string; what: string }[] = [
  { path: 'rateLimit.perPrincipalPerMinute', what: 'the per-principal request budget (shared windows keep their counts)' },
  { path: 'rateLimit.perAddressPerMinute', what: 'the per-address request budget' },
  { path: 'alerts', what: 'webhook sources and their secrets, models and their keys, model budgets, intake limits' },
];

const reloadable = (path: string) => RELOADABLE_SETTINGS.some((r) => path === r.path || path.startsWith(`${r.path}.`));

/** Leaf paths (`a.b.c`; arrays compared whole) whose values differ between two configs. */
export function changedSettings(before: unknown, after: unknown, prefix = ''): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => changedSettings(before[k], after[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [prefix || '(root)'];
}

export interface SettingsTargets {
  dir: string;
  store: Store;
  env: NodeJS.ProcessEnv;
  tools: ToolRegistry;
  /** The API's request budgets (null when the API runs without rate limits). */
  budgets: RequestBudgets | null;
  /** The alert intake, once built (the pipeline exists before it). */
  intake: () => AlertIntake | undefined;
}

/**
 * `config.reload`: countersign.yaml read again (`${env:…}` and `${file:…}` resolved anew, so a
 * rotated secret file is picked up), compared with what the process started with. The reloadable
 * settings are prepared — every alert source secret and model key resolved — and applied together
 * or not at all; a changed setting that needs a restart is reported (and logged) and not applied,
 * without holding back the rest.
 */
export class ConfigSettings implements ReloadSource<ConfigReloadChanges> {
  readonly #start: Readonly<Config>;
  #live: Readonly<Config>;

  constructor(
    start: Readonly<Config>,
    private readonly t: SettingsTargets,
  ) {
    this.#start = start;
    this.#live = start;
  }

  async prepare(): Promise<PreparedReload<ConfigReloadChanges>> {
    let next: Readonly<Config>;
    try {
      next = loadConfig(this.t.dir, this.t.env);
    } catch (err) {
      return { ok: false, outcome: 'failed', reasons: [(err as Error).message] };
    }
    const restartNeeded = changedSettings(this.#start, next).filter((p) => !reloadable(p));
    const applied = changedSettings(this.#live, next).filter(reloadable);
    const intake = this.t.intake();
    let alerts: AlertSettings | null = null;
    if (intake) {
      // Resolved on every reload, changed or not: a secret file may have been rotated in place.
      alerts = await resolveAlertSettings(next.alerts, this.t.store, this.t.env);
      const orphaned = playbooksMissingModels(intake.playbooks, alerts.models);
      if (orphaned.length > 0) return { ok: false, outcome: 'failed', reasons: orphaned.map((o) => `${o.file} ${o.reason}`) };
    }
    return {
      ok: true,
      changes: { applied, restartNeeded },
      commit: () => {
        if (this.#start.rateLimit.enabled) this.t.budgets?.apply(next.rateLimit);
        if (intake && alerts) intake.reconfigure(alerts);
        this.#live = next;
      },
    };
  }
}

/**
 * `playbook.reload`: `<dir>/playbooks` read and verified again — signatures against the trust
 * store as it is now, templates against the tools in force, models against `alerts.models` — and
 * swapped in whole; one playbook that fails refuses the set, and the previous one stays (#15).
 */
export class PlaybookSet implements ReloadSource<PlaybookReloadChanges> {
  constructor(
    private readonly config: Readonly<Config>,
    private readonly t: SettingsTargets,
  ) {}

  async prepare(): Promise<PreparedReload<PlaybookReloadChanges>> {
    const intake = this.t.intake();
    if (!intake) throw new CountersignError('CONFLICT', 'the alert intake is not running');
    const trust = await manifestTrustAtStart(this.t.store, this.config);
    const { playbooks, refused } = verifyPlaybooks(this.t.dir, trust, this.t.tools, intake.models);
    if (refused.length > 0) return { ok: false, outcome: 'denied', reasons: refused.map((r) => `${r.file}: ${r.reason}`) };
    const before = new Set(intake.playbooks.map((p) => p.playbook.name));
    const names = playbooks.map((p) => p.playbook.name);
    return {
      ok: true,
      changes: {
        playbooks: names,
        added: names.filter((n) => !before.has(n)),
        removed: [...before].filter((n) => !names.includes(n)),
        unsigned: playbooks.filter((p) => p.unsigned).map((p) => p.playbook.name),
      },
      commit: () => intake.replacePlaybooks(playbooks),
    };
  }
}

export interface SettingsReloadOutcome {
  config: { ok: true; applied: string[]; restartNeeded: string[] } | { ok: false; reasons: string[] };
  playbooks: { ok: true; playbooks: string[] } | { ok: false; reasons: string[] };
}

function reasonsOf(err: unknown): string[] {
  return err instanceof CountersignError && Array.isArray(err.details?.reasons)
    ? (err.details.reasons as string[])
    : [(err as Error).message];
}

/**
 * SIGHUP for countersign.yaml and the playbooks (after the tools, whose set playbooks are checked
 * against): each runs as its host operation (audited, all or nothing) and is logged in one line
 * saying what applied, what waits for a restart, or why nothing changed. Reloads run one at a time.
 */
export class SettingsReloader {
  #chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: { pipeline: Pipeline; log: (line: string) => void }) {}

  reload(): Promise<SettingsReloadOutcome> {
    const run = this.#chain.then(() => this.#reload());
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #reload(): Promise<SettingsReloadOutcome> {
    const { pipeline, log } = this.deps;
    const host = systemPrincipal();
    let config: SettingsReloadOutcome['config'];
    try {
      const c = await pipeline.run<ConfigReloadChanges>('config.reload', host, { process: 'api' }, 'host');
      config = { ok: true, ...c };
      log(`config reloaded: ${c.applied.length > 0 ? `applied ${c.applied.join(', ')}` : 'no reloadable setting changed'}`);
      if (c.restartNeeded.length > 0) {
        log(`config: NOT applied, these need a restart (the running values stay): ${c.restartNeeded.join(', ')}`);
      }
    } catch (err) {
      config = { ok: false, reasons: reasonsOf(err) };
      log(`config reload REFUSED, previous settings kept: ${config.reasons.join('; ')}`);
    }
    let playbooks: SettingsReloadOutcome['playbooks'];
    try {
      const p = await pipeline.run<PlaybookReloadChanges>('playbook.reload', host, { process: 'api' }, 'host');
      playbooks = { ok: true, playbooks: p.playbooks };
      log(
        `playbooks reloaded: ${p.playbooks.length} playbook(s): ${p.playbooks.join(', ') || '-'}; added ${p.added.join(', ') || '-'}; removed ${p.removed.join(', ') || '-'}`,
      );
      if (p.unsigned.length > 0) log(`WARNING: UNSIGNED playbooks loaded because developmentMode is on: ${p.unsigned.join(', ')}`);
    } catch (err) {
      playbooks = { ok: false, reasons: reasonsOf(err) };
      log(`playbook reload REFUSED, previous playbooks kept: ${playbooks.reasons.join('; ')}`);
    }
    return { config, playbooks };
  }
}
