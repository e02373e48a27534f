import { z } from 'zod';
import { InputFieldSchema, RiskSchema } from './manifest.ts';

/** An action as a proposer sees it: what it does, its base risk, and the input it takes. */
export const ToolActionViewSchema = z.object({
  name: z.string(),
  description: z.string(),
  risk: RiskSchema,
  destructive: z.boolean(),
  idempotent: z.boolean(),
  /** JSON Schema of the step's `input` (closed: unknown fields are refused at proposal). */
  input: z.object({
    type: z.literal('object'),
    properties: z.record(z.string(), InputFieldSchema),
    required: z.array(z.string()),
    additionalProperties: z.literal(false),
  }),
});
export type ToolActionView = z.infer<typeof ToolActionViewSchema>;

/** A loaded, verified tool manifest without its executable path, sandbox profile or secret references. */
export const ToolViewSchema = z.object({
  name: z.string(),
  version: z.string(),
  description: z.string(),
  kind: z.enum(['exec', 'script']),
  /** SHA-256 of the manifest: what a plan step pins. */
  digest: z.string(),
  actions: z.array(ToolActionViewSchema),
});
export type ToolView = z.infer<typeof ToolViewSchema>;

/** What a caller may put in a plan: the tenant's environments and the loaded tools. */
export const ToolCatalogSchema = z.object({
  /** Names of the tenant's environments, e.g. dev, staging, prod. */
  environments: z.array(z.string()),
  tools: z.array(ToolViewSchema),
});
export type ToolCatalog = z.infer<typeof ToolCatalogSchema>;
