import { z } from 'zod';
import { type ToolCatalog, toToolView } from '../tools/index.ts';
import type { OperationDeps } from './deps.ts';
import { tenantResource } from './plans.ts';
import type { AnyOperation, Operation } from './types.ts';

/**
 * The tool catalog for proposers (GET /v1/tools, MCP `list_tools`). Decided as `plan.propose` on
 * the caller's tenant: a principal that may not propose has no use for it, and the catalog shows
 * no credential or sandbox detail either way.
 */
export function toolOperations(deps: OperationDeps): AnyOperation[] {
  const catalog: Operation<Record<string, never>, null, ToolCatalog> = {
    name: 'tool.catalog',
    action: 'plan.propose',
    kind: 'read',
    summary: "What a caller may put in a plan: the tenant's environments and the loaded tools.",
    input: z.object({}).strict(),
    load: async () => null,
    resource: (_l, _i, ctx) => tenantResource(ctx),
    act: async (tx) => ({
      result: {
        environments: (await tx.directory.listEnvironments()).map((e) => e.name),
        tools: deps.tools.list().map((t) => toToolView(t.manifest, t.digest)),
      },
    }),
  };
  return [catalog];
}
