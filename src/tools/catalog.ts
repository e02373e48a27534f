import type { ToolManifest } from './manifest.ts';
import type { ToolView } from './view.ts';

export type { ToolActionView, ToolCatalog, ToolView } from './view.ts';

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
