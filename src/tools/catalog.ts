import { type PrivilegeDeps, requireRead } from '../policy/require-privilege.ts';
import type { Principal } from '../policy/types.ts';
import type { ToolManifest } from './manifest.ts';
import type { ToolRegistry } from './registry.ts';
import type { ToolCatalog, ToolView } from './view.ts';

export type { ToolActionView, ToolCatalog, ToolView } from './view.ts';

/**
 * The tool catalog for proposers (GET /v1/tools, MCP `list_tools`). Gated as `plan.propose` on
 * the caller's tenant: a principal that may not propose has no use for it, and the catalog shows
 * no credential or sandbox detail either way.
 */
export class ToolCatalogService {
  constructor(private readonly deps: PrivilegeDeps & { tools: ToolRegistry }) {}

  async catalog(principal: Principal): Promise<ToolCatalog> {
    await requireRead(this.deps, principal, 'plan.propose', { type: 'Tenant', id: principal.tenantId, tenantId: principal.tenantId });
    const environments = await this.deps.store.scope(principal.tenantId).directory.listEnvironments();
    return {
      environments: environments.map((e) => e.name),
      tools: this.deps.tools.list().map((t) => toToolView(t.manifest, t.digest)),
    };
  }
}

export function toToolView(m: ToolManifest, digest: string): ToolView {
  return {
    name: m.name,
    version: m.version,
    description: m.description,
    kind: m.type,
    digest,
    actions: Object.entries(m.actions).map(([name, a]) => ({
      name,
      description: a.description,
      risk: a.risk,
      destructive: a.destructive,
      idempotent: a.idempotent,
      input: { type: 'object', properties: a.input.properties, required: a.input.required, additionalProperties: false },
    })),
  };
}
