import { z } from 'zod';

/** The answer to a webhook delivery (POST /v1/webhooks/{source}). */
export const IntakeResultSchema = z.object({
  accepted: z.literal(true),
  source: z.string(),
  groupKey: z.string().nullable(),
  deliveryId: z.string().nullable(),
  proposed: z.array(
    z.object({
      playbook: z.string(),
      planId: z.string().optional().describe('The plan proposed for the group.'),
      refused: z.array(z.string()).optional().describe('Why no plan was proposed for the group.'),
    }),
  ),
  duplicates: z.array(z.string()).describe('Playbooks whose group already has an open plan: nothing new was proposed.'),
  cancelled: z.array(z.string()).describe('Pending plans cancelled because the alert resolved.'),
  annotated: z.array(z.string()).describe('Plans past approval when the alert resolved: annotated, left to their reviewers.'),
});

const ValueOriginSchema = z.object({
  path: z.string(),
  provenance: z.enum(['trusted_config', 'typed_label', 'untrusted_text']),
  label: z.string().optional(),
});

/** Where an alert plan came from (GET /v1/plans/{id}/origin). */
export const PlanOriginSchema = z.object({
  planId: z.string(),
  planHash: z.string(),
  source: z.string(),
  groupKey: z.string(),
  playbook: z.string(),
  origin: z
    .object({
      alert: z
        .object({ name: z.string(), fingerprint: z.string(), labels: z.record(z.string(), z.string()), count: z.number() })
        .optional(),
      fields: z.record(z.string(), z.string()).optional(),
      provenance: z.array(ValueOriginSchema).optional(),
      templates: z.array(z.string()).optional(),
      planner: z.record(z.string(), z.unknown()).optional(),
      reviews: z
        .object({
          mode: z.enum(['advisory', 'required']),
          require: z.number(),
          of: z.number(),
          approvals: z.number(),
          passed: z.boolean(),
          votes: z.array(
            z.object({
              model: z.string(),
              vote: z.enum(['approve', 'reject', 'abstain']),
              reason: z.string(),
              tokens: z.number().optional(),
              costMicros: z.number().optional(),
            }),
          ),
          dissent: z.array(z.string()),
        })
        .optional(),
    })
    .describe('Provenance of every value, the planner outcome and the model reviews (advice; never a human seat).'),
  notes: z.array(z.object({ at: z.string(), note: z.string() })),
});
