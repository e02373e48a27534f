import { z } from 'zod';

/**
 * A playbook: which alerts it answers, the typed facts it extracts from their labels, and the
 * plan templates it proposes. Signed like a tool manifest (src/alerts/playbooks.ts). Inputs come
 * only from typed label extraction or constants written here, never from annotations or other
 * free text; a planner may fill only the fields a template marks `planner: true`.
 */
const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const FIELD = /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/;

const ExtractSchema = z
  .object({
    label: z.string().min(1).max(128).describe('The label the value is read from (never an annotation).'),
    pattern: z
      .string()
      .max(500)
      .optional()
      .describe('A JavaScript regular expression the whole value must match (it is anchored for you).'),
    enum: z.array(z.string().min(1).max(256)).min(1).max(100).optional().describe('The only values accepted.'),
    maxLength: z.number().int().min(1).max(1024).default(253).describe('Longest value accepted.'),
  })
  .strict()
  .refine((e) => e.pattern !== undefined || e.enum !== undefined, 'a field needs a pattern or an enum: labels are typed before use')
  .describe('A typed fact taken from one label: refused unless it matches its pattern or enum.');
export type Extract = z.infer<typeof ExtractSchema>;

const Scalar = z.union([z.string().max(4096), z.number(), z.boolean()]);
const BindingSchema = z
  .union([
    z.object({ from: z.string().regex(FIELD).describe('An extracted field: its typed label value fills the input.') }).strict(),
    z
      .object({ value: z.union([Scalar, z.array(Scalar).max(100)]).describe('A constant written in the playbook (trusted config).') })
      .strict(),
    z
      .object({
        planner: z.literal(true).describe('The planner may fill this field; its value is untrusted text and is shown so.'),
      })
      .strict(),
  ])
  .describe('Where one input value comes from: `from` (typed label), `value` (constant) or `planner: true`.');
export type Binding = z.infer<typeof BindingSchema>;

const TemplateSchema = z
  .object({
    id: z.string().regex(NAME).describe('Names the template; the planner chooses templates by id.'),
    tool: z.string().min(1).max(64).describe('A loaded tool.'),
    action: z.string().min(1).max(64).describe('An action of that tool.'),
    input: z.record(z.string().regex(FIELD), BindingSchema).default({}).describe('Each input field and where its value comes from.'),
    default: z.boolean().default(true).describe('Proposed when the playbook has no planner (and offered to it first).'),
  })
  .strict();
export type PlanTemplate = z.infer<typeof TemplateSchema>;

export const PlaybookSchema = z
  .object({
    apiVersion: z.literal('countersign/v1').describe('Always countersign/v1.'),
    kind: z.literal('Playbook').describe('Always Playbook.'),
    name: z.string().regex(NAME).describe('Unique among playbooks; recorded with every plan it proposes.'),
    description: z.string().max(2000).default('').describe('What the playbook remedies, for reviewers.'),
    match: z
      .object({
        alertname: z.array(z.string().min(1).max(256)).min(1).max(100).describe('Alert names (the `alertname` label) answered.'),
        sources: z
          .array(z.string().regex(/^[a-z][a-z0-9-]{0,62}$/))
          .min(1)
          .optional()
          .describe('Only deliveries of these sources.'),
        labels: z
          .record(z.string().max(128), z.array(z.string().max(256)).min(1))
          .default({})
          .describe('Each named label must be present with one of these values.'),
      })
      .strict()
      .describe('Which alerts the playbook answers: all conditions must hold.'),
    extract: z.record(z.string().regex(FIELD), ExtractSchema).default({}).describe('Typed facts read from the alert labels.'),
    environment: BindingSchema.describe('The environment of the plan: `from` an extracted field, or a constant `value`.'),
    intent: z
      .string()
      .min(1)
      .max(1000)
      .describe('The plan intent; `{{field}}` is replaced with an extracted field (never with alert text).'),
    templates: z.array(TemplateSchema).min(1).max(20).describe('The steps the playbook may propose, in order.'),
    planner: z
      .object({
        model: z.string().regex(NAME).describe('A model of alerts.models.'),
        instructions: z.string().max(4000).default('').describe('Trusted guidance for the planner, written by the playbook author.'),
      })
      .strict()
      .optional()
      .describe('Optional: a model picks among the templates and fills their `planner: true` fields.'),
    reviewers: z
      .object({
        models: z.array(z.string().regex(NAME)).min(1).max(7).describe('Models of alerts.models, each reviewing on its own.'),
        require: z.number().int().min(1).max(7).describe('Approving reviews needed for the reviewers to pass (N of M).'),
        mode: z
          .enum(['advisory', 'required'])
          .default('advisory')
          .describe('`advisory`: votes are shown to humans; `required`: a plan the reviewers do not pass is not proposed.'),
      })
      .strict()
      .refine((r) => r.require <= r.models.length, 'require cannot exceed the number of models')
      .optional()
      .describe('Optional: independent model reviews of the candidate plan. They never fill a human seat.'),
  })
  .strict();
export type Playbook = z.infer<typeof PlaybookSchema>;

/** Provenance of one value of a proposed plan (invariant 21). */
export type Provenance = 'trusted_config' | 'typed_label' | 'untrusted_text';

export interface ValueOrigin {
  /** `steps[i].input.<field>` or `environment`. */
  path: string;
  provenance: Provenance;
  /** For typed labels: the label it was read from. */
  label?: string;
}
