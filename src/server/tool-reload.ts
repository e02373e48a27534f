import type { Config } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { type Pipeline, systemPrincipal, type ToolReloadResult, type ToolSetSource } from '../operations/index.ts';
import type { Store } from '../store/index.ts';
import { ReloadableToolRegistry, type ToolRegistry } from '../tools/index.ts';
import { manifestTrustAtStart } from '../trust/index.ts';

/**
 * The next tool set of a process that can swap its set (a ReloadableToolRegistry): `<dir>/tools`
 * read and verified against the trust store as it is at the moment of the reload.
 */
export function toolSetSource(store: Store, config: Readonly<Config>, toolsDir: string, tools: ToolRegistry): ToolSetSource | undefined {
  if (!(tools instanceof ReloadableToolRegistry)) return undefined;
  return { prepare: async () => tools.prepare(toolsDir, await manifestTrustAtStart(store, config)) };
}

export interface ToolReloadDeps {
  /** A pipeline whose host operations include `tool.reload` over this process's tool set. */
  pipeline: Pipeline;
  /** Which process reloads: named in the log line and the audit entry. */
  process: 'api' | 'executor';
  log: (line: string) => void;
}

export type ToolReloadOutcome = { ok: true; tools: string[] } | { ok: false; reasons: string[] };

/**
 * SIGHUP for tools: runs the `tool.reload` host operation (audited, all or nothing: see
 * src/operations/host-reload.ts) and logs what changed or why the set was refused. Reloads run
 * one at a time, in the order the signals came.
 */
export class ToolReloader {
  #chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ToolReloadDeps) {}

  reload(): Promise<ToolReloadOutcome> {
    const run = this.#chain.then(() => this.#reload());
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #reload(): Promise<ToolReloadOutcome> {
    const { pipeline, process, log } = this.deps;
    let done: ToolReloadResult;
    try {
      done = await pipeline.run<ToolReloadResult>('tool.reload', systemPrincipal(), { process }, 'host');
    } catch (err) {
      const reasons =
        err instanceof CountersignError && Array.isArray(err.details?.reasons)
          ? (err.details.reasons as string[])
          : [(err as Error).message];
      log(`tool reload REFUSED (${process}), previous tool set kept: ${reasons.join('; ')}`);
      return { ok: false, reasons };
    }
    const c = done.changes;
    const delta = [
      `added ${c.added.join(', ') || '-'}`,
      `removed ${c.removed.join(', ') || '-'}`,
      `changed ${c.changed.join(', ') || '-'}`,
    ];
    log(`tools reloaded (${process}): ${done.tools.length} tool(s): ${done.tools.join(', ')}; ${delta.join('; ')}`);
    if (c.unsigned.length > 0) {
      log(`WARNING: UNSIGNED tool manifests loaded because developmentMode is on: ${c.unsigned.join(', ')}`);
    }
    return { ok: true, tools: done.tools };
  }
}
