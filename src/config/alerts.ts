import { z } from 'zod';

/**
 * Alert intake (src/alerts): webhook sources, the models a playbook's planner and reviewers may
 * call, and what each tenant may spend on them. Secrets are references (`env:NAME` or
 * `file:/absolute/path`), never values (invariant 12).
 */
const SecretFrom = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/.+)$/, 'expected env:NAME or file:/absolute/path')
  .describe('Where the secret is read at start: `env:NAME` or `file:/absolute/path`; never the value itself.');

const SOURCE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

export const WebhookSourceSchema = z
  .object({
    name: z
      .string()
      .regex(SOURCE_NAME, 'lowercase letters, digits and -')
      .describe('The source: its URL is /v1/webhooks/<name>, and it acts as the principal `webhook:<name>`.'),
    type: z
      .enum(['alertmanager', 'grafana', 'pagerduty', 'hmac'])
      .describe(
        'How deliveries are proven and read: `alertmanager` (bearer credential, payload version 4), `grafana` (HMAC over `timestamp:body`), `pagerduty` (v3 `X-PagerDuty-Signature`), `hmac` (the generic signed form in docs/alerts.md).',
      ),
    tenant: z.string().min(1).default('default').describe('Name of the tenant whose plans this source proposes.'),
    secrets: z
      .array(SecretFrom)
      .min(1)
      .max(4)
      .describe('The shared secret, and during a rotation the previous one too: a delivery matching any of them is accepted.'),
    toleranceSeconds: z
      .number()
      .int()
      .min(10)
      .max(3600)
      .default(300)
      .describe('Replay window: a signed timestamp further than this from the server clock is refused as stale.'),
    perMinute: z.number().int().min(1).max(100_000).default(600).describe('Deliveries per minute accepted from this source; more get 429.'),
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(4 * 1024 * 1024)
      .default(256 * 1024)
      .describe('Largest delivery accepted from this source, in bytes.'),
    signatureHeader: z
      .string()
      .min(1)
      .max(100)
      .default('X-Grafana-Alerting-Signature')
      .describe('grafana: the header carrying the hex HMAC-SHA256.'),
    timestampHeader: z
      .string()
      .min(1)
      .max(100)
      .default('X-Grafana-Alerting-Signature-Timestamp')
      .describe('grafana: the header carrying the signed Unix timestamp (the signature covers `timestamp:body`).'),
  })
  .strict();
export type WebhookSourceConfig = z.infer<typeof WebhookSourceSchema>;

export const ModelConfigSchema = z
  .object({
    provider: z
      .enum(['anthropic', 'openai'])
      .describe('Wire format: Anthropic Messages, or OpenAI Chat Completions (any compatible server).'),
    model: z.string().min(1).max(200).describe('Model name sent with each request.'),
    baseUrl: z.url().optional().describe("The API's base URL; absent: the provider's public endpoint."),
    apiKey: SecretFrom.optional().describe('Where the API key is read; absent: none is sent (a local server).'),
    maxTokens: z.number().int().min(16).max(32_000).default(1024).describe('Largest answer requested, in tokens.'),
    timeoutSeconds: z.number().int().min(1).max(300).default(30).describe('A call taking longer is abandoned and counts as a refusal.'),
    inputCostPerMillion: z.number().min(0).default(0).describe('Price of a million input tokens, in US dollars (for budgets).'),
    outputCostPerMillion: z.number().min(0).default(0).describe('Price of a million output tokens, in US dollars (for budgets).'),
  })
  .strict();
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

export const ModelBudgetSchema = z
  .object({
    tokensPerDay: z.number().int().min(0).default(200_000).describe('Input plus output tokens a tenant may use per UTC day.'),
    costPerDay: z.number().min(0).default(5).describe('US dollars a tenant may spend per UTC day.'),
  })
  .strict();

export const AlertsConfigSchema = z
  .object({
    sources: z.array(WebhookSourceSchema).max(100).default([]).describe('Webhook sources; none: the webhook route answers 404.'),
    models: z
      .record(z.string().regex(SOURCE_NAME), ModelConfigSchema)
      .default({})
      .describe('Models by name, for playbook planners and reviewers.'),
    budgets: z
      .object({
        default: ModelBudgetSchema.default({ tokensPerDay: 200_000, costPerDay: 5 }).describe('Every tenant without its own entry.'),
        tenants: z.record(z.string(), ModelBudgetSchema).default({}).describe('Per tenant name.'),
      })
      .strict()
      .default({ default: { tokensPerDay: 200_000, costPerDay: 5 }, tenants: {} })
      .describe('Per-tenant daily model budgets (invariant 17).'),
    maxConcurrent: z
      .number()
      .int()
      .min(1)
      .max(256)
      .default(16)
      .describe('Deliveries processed at once; more wait in a queue of the same size, and beyond it get 429.'),
  })
  .strict()
  .superRefine((a, ctx) => {
    const seen = new Set<string>();
    for (const [i, s] of a.sources.entries()) {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'name'], message: `source "${s.name}" is defined twice` });
      seen.add(s.name);
    }
  });
export type AlertsConfig = z.infer<typeof AlertsConfigSchema>;

export const ALERTS_CONFIG_DEFAULT: AlertsConfig = {
  sources: [],
  models: {},
  budgets: { default: { tokensPerDay: 200_000, costPerDay: 5 }, tenants: {} },
  maxConcurrent: 16,
};
