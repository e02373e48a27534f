import type { InputSchema, ToolManifest } from './manifest.ts';

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
