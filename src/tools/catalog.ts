import { type PrivilegeDeps, requireRead } from '../policy/require-privilege.ts';
import type { Principal } from '../policy/types.ts';
import type { InputSchema, ToolManifest } from './manifest.ts';
import type { ToolRegistry } from './registry.ts';

/** An action as a proposer sees it: what it does, its base risk, and the input it takes. */
export interface ToolActionView {
  name: string;
  description: string;
  risk: string;
  destructive: boolean;
  idempotent: boolean;
  /** JSON Schema of the step's `input` (closed: unknown fields are refused at proposal). */
  input: { type: 'object'; properties: InputSchema['properties']; required: string[]; additionalProperties: false };
}

/** A loaded, verified tool manifest without its executable path, sandbox profile or secret references. */
export interface ToolView {
  name: string;
  version: string;
  description: string;
  kind: ToolManifest['type'];
  /** SHA-256 of the manifest: what a plan step pins. */
  digest: string;
  actions: ToolActionView[];
}

/** What a caller may put in a plan: the tenant's environments and the loaded tools. */
export interface ToolCatalog {
  /** Names of the tenant's environments, e.g. dev, staging, prod. */
  environments: string[];
  tools: ToolView[];
}

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
