import { z } from 'zod';
import { CountersignError, type ErrorCode } from '../errors/index.ts';
import type { ResourceRef } from '../policy/index.ts';
import type { Operation } from './types.ts';

/**
 * The next settings of a reload, read and checked but not yet in force: `commit` swaps them in,
 * and is called only once the `allowed` entry has committed (invariant 11).
 */
export type PreparedReload<C extends Record<string, unknown>> =
  | { ok: true; changes: C; commit: () => void }
  /** `denied`: the next set is readable but refused (a playbook fails verification); `failed`: it cannot be read or resolved. */
  | { ok: false; outcome: 'denied' | 'failed'; reasons: string[] };

export interface ReloadSource<C extends Record<string, unknown>> {
  /** Reads the next settings as they are on disk now; changes nothing. */
  prepare(): Promise<PreparedReload<C>>;
}

/** What `config.reload` reports: the settings that changed and apply now, and those left for a restart. */
export interface ConfigReloadChanges extends Record<string, unknown> {
  applied: string[];
  restartNeeded: string[];
}

/** What `playbook.reload` reports. */
export interface PlaybookReloadChanges extends Record<string, unknown> {
  playbooks: string[];
  added: string[];
  removed: string[];
  unsigned: string[];
}

/** What a process that serves config and playbook reloads gives the pipeline (the API server). */
export interface SettingsReloadDeps {
  configSettings?: ReloadSource<ConfigReloadChanges>;
  playbookSet?: ReloadSource<PlaybookReloadChanges>;
}

const Input = z.object({ process: z.enum(['api']) }).strict();
type Input = z.infer<typeof Input>;

const installation = (tenantId: string): ResourceRef => ({ type: 'Tenant', id: tenantId, tenantId });

/**
 * A SIGHUP reload as a host operation: decided before anything is read (only the host may make
 * the process read it), all or nothing — a next set that is refused (`denied`) or cannot be read
 * (`failed`) changes nothing and the previous one keeps serving; one that passes is swapped in
 * after its entry commits.
 */
function reloadOperation<C extends Record<string, unknown>>(
  name: 'config.reload' | 'playbook.reload',
  summary: string,
  deniedCode: ErrorCode,
  resource: string,
  source: ReloadSource<C> | undefined,
): Operation<Input, PreparedReload<C>, C, PreparedReload<C>> {
  return {
    name,
    action: name,
    kind: 'mutation',
    summary,
    input: Input,
    gate: (_i, ctx) => installation(ctx.principal.tenantId),
    prepare: async () => {
      if (!source) throw new CountersignError('CONFLICT', `this process does not serve ${name}`);
      try {
        return await source.prepare();
      } catch (err) {
        return { ok: false, outcome: 'failed', reasons: [(err as Error).message] };
      }
    },
    load: async (_tx, _i, _ctx, prepared) => prepared,
    resource: (_l, _i, ctx) => installation(ctx.principal.tenantId),
    guards: [
      (_tx, prepared, req) => {
        if (!prepared.ok && prepared.outcome === 'denied') {
          throw new CountersignError(deniedCode, prepared.reasons.join('; '), {
            details: { process: req.process, reasons: prepared.reasons },
          });
        }
      },
    ],
    act: async (_tx, prepared, req) => {
      if (!prepared.ok) {
        throw new CountersignError('CONFIG_INVALID', prepared.reasons.join('; '), {
          details: { process: req.process, reasons: prepared.reasons },
        });
      }
      return {
        result: prepared.changes,
        resource,
        details: { process: req.process, ...prepared.changes },
        afterCommit: async () => {
          prepared.commit();
          return { result: prepared.changes, resource, details: { process: req.process, ...prepared.changes } };
        },
      };
    },
  };
}

export function settingsReloadOperations(deps: SettingsReloadDeps) {
  return [
    reloadOperation(
      'config.reload',
      'Re-read countersign.yaml (SIGHUP) and apply the settings that may change at run time; the rest wait for a restart (host).',
      'CONFIG_INVALID',
      'config',
      deps.configSettings,
    ),
    reloadOperation(
      'playbook.reload',
      'Reload the playbook directory (SIGHUP); a set with any playbook that fails verification is refused whole (host).',
      'PLAYBOOK_INVALID',
      'playbooks',
      deps.playbookSet,
    ),
  ];
}
