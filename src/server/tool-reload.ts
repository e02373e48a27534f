import type { Config } from '../config/index.ts';
import type { Store } from '../store/index.ts';
import { type PreparedToolReload, ReloadableToolRegistry, type ToolRegistry } from '../tools/index.ts';
import { manifestTrustAtStart } from '../trust/index.ts';

export interface ToolReloadDeps {
  store: Store;
  config: Readonly<Config>;
  /** `<dir>/tools`. */
  toolsDir: string;
  tools: ToolRegistry;
  /** Which process reloads: named in the log line and the audit entry. */
  process: 'api' | 'executor';
  log: (line: string) => void;
}

export type ToolReloadResult = { ok: true; tools: string[] } | { ok: false; reasons: string[] };

/**
 * SIGHUP for tools: re-read `<dir>/tools`, verify every manifest against the trust store as it is
 * now, and swap the whole set in, or refuse it whole and keep the old one (invariant 13). Every
 * attempt is audited as `tool.reload` before anything changes (invariant 11); a refusal is also
 * logged with its reasons. Reloads run one at a time, in the order the signals came.
 */
export class ToolReloader {
  #chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ToolReloadDeps) {}

  reload(): Promise<ToolReloadResult> {
    const run = this.#chain.then(() => this.#reload());
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #reload(): Promise<ToolReloadResult> {
    const { store, config, toolsDir, tools, process, log } = this.deps;
    const refuse = (why: string, reasons: string[]): ToolReloadResult => {
      log(`tool reload REFUSED (${process}), previous tool set kept: ${why}`);
      return { ok: false, reasons };
    };
    if (!(tools instanceof ReloadableToolRegistry)) return refuse('this process cannot reload tools', ['not reloadable']);
    let prepared: PreparedToolReload;
    try {
      prepared = tools.prepare(toolsDir, await manifestTrustAtStart(store, config));
    } catch (err) {
      prepared = { ok: false, outcome: 'failed', reasons: [`cannot read the trust store: ${(err as Error).message}`] };
    }
    try {
      await store.scope('-').audit({
        actor: 'system',
        action: 'tool.reload',
        outcome: prepared.ok ? 'succeeded' : prepared.outcome,
        resource: 'tools',
        details: prepared.ok ? { process, tools: prepared.tools, ...prepared.changes } : { process, refused: prepared.reasons },
      });
    } catch (err) {
      const why = `the audit entry could not be written (${(err as Error).message})`;
      return refuse(why, [why]);
    }
    if (!prepared.ok) return refuse(prepared.reasons.join('; '), prepared.reasons);
    prepared.commit();
    const c = prepared.changes;
    const delta = [
      `added ${c.added.join(', ') || '-'}`,
      `removed ${c.removed.join(', ') || '-'}`,
      `changed ${c.changed.join(', ') || '-'}`,
    ];
    log(`tools reloaded (${process}): ${prepared.tools.length} tool(s): ${prepared.tools.join(', ')}; ${delta.join('; ')}`);
    if (c.unsigned.length > 0) {
      log(`WARNING: UNSIGNED tool manifests loaded because developmentMode is on: ${c.unsigned.join(', ')}`);
    }
    return { ok: true, tools: prepared.tools };
  }
}
