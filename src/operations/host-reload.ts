import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import type { ResourceRef } from '../policy/index.ts';
import type { PreparedToolReload } from '../tools/index.ts';
import type { Operation } from './types.ts';

/** What a process that serves tools gives the `tool.reload` operation: the next set, verified. */
export interface ToolSetSource {
  /** Reads `<dir>/tools` against the trust store as it is now; commits nothing. */
  prepare(): Promise<PreparedToolReload>;
}

const ReloadInput = z.object({ process: z.enum(['api', 'executor']) }).strict();
type ReloadInput = z.infer<typeof ReloadInput>;

export interface ToolReloadResult {
  tools: string[];
  changes: Extract<PreparedToolReload, { ok: true }>['changes'];
}

const tools = (tenantId: string): ResourceRef => ({ type: 'Tenant', id: tenantId, tenantId });

/**
 * SIGHUP for tools, in the API and in each executor: the whole new set is verified before
 * anything changes and swapped in only after its `allowed` entry commits (invariant 11); a set
 * with a manifest that fails verification is refused whole (`denied` with its reasons, invariant
 * 13), one that cannot be read or parsed is `failed`. Either way the old set keeps serving.
 */
export function toolReloadOperation(
  source: ToolSetSource | undefined,
): Operation<ReloadInput, PreparedToolReload, ToolReloadResult, PreparedToolReload> {
  return {
    name: 'tool.reload',
    action: 'tool.reload',
    kind: 'mutation',
    summary: 'Reload the tool directory (SIGHUP); a set with any manifest that fails verification is refused whole (host).',
    input: ReloadInput,
    // Decided before the directory is read: only the host may make this process read it.
    gate: (_i, ctx) => tools(ctx.principal.tenantId),
    prepare: async () => {
      if (!source) throw new CountersignError('CONFLICT', 'this process cannot reload tools');
      try {
        return await source.prepare();
      } catch (err) {
        return { ok: false, outcome: 'failed', reasons: [`cannot read the tools or the trust store: ${(err as Error).message}`] };
      }
    },
    load: async (_tx, _i, _ctx, prepared) => prepared,
    resource: (_l, _i, ctx) => tools(ctx.principal.tenantId),
    guards: [
      (_tx, prepared, req) => {
        if (!prepared.ok && prepared.outcome === 'denied') {
          throw new CountersignError('TOOL_UNTRUSTED', prepared.reasons.join('; '), {
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
      const result = { tools: prepared.tools, changes: prepared.changes };
      return {
        result,
        resource: 'tools',
        details: { process: req.process, tools: prepared.tools },
        afterCommit: async () => {
          prepared.commit();
          return { result, resource: 'tools', details: { process: req.process, tools: prepared.tools, ...prepared.changes } };
        },
      };
    },
  };
}
