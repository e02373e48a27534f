import { z } from 'zod';

/**
 * OpenTelemetry traces (issue 16), off by default. The exporter speaks OTLP/HTTP with JSON bodies
 * to `endpoint` (the collector's `/v1/traces` URL). Header values usually carry a collector's API
 * key: write them as `${env:NAME}` so the key stays out of the file.
 */
export const TracingConfigSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Export traces. Off: no OpenTelemetry module is loaded and nothing is sent.'),
    endpoint: z
      .string()
      .default('http://127.0.0.1:4318/v1/traces')
      .refine(
        (u) => {
          try {
            return ['http:', 'https:'].includes(new URL(u).protocol);
          } catch {
            return false;
          }
        },
        { message: 'must be an absolute http(s) URL' },
      )
      .describe('The OTLP/HTTP traces URL of the collector (JSON encoding), usually ending in `/v1/traces`.'),
    headers: z
      .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name'), z.string())
      .default({})
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's own syntax
      .describe('Headers sent with every export (an API key: `${env:NAME}`, never the key itself).'),
    serviceName: z
      .string()
      .min(1)
      .max(100)
      .default('countersign')
      .describe('`service.name` of the spans; the process (`api` or `executor`) is `service.instance.role`.'),
    samplingRatio: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe(
        'Share of new traces recorded, 0 to 1. A request that arrives with a sampled W3C `traceparent` follows its caller’s choice.',
      ),
  })
  .strict();

export const TelemetryConfigSchema = z
  .object({
    tracing: TracingConfigSchema.default({
      enabled: false,
      endpoint: 'http://127.0.0.1:4318/v1/traces',
      headers: {},
      serviceName: 'countersign',
      samplingRatio: 1,
    }).describe('OpenTelemetry traces over OTLP/HTTP.'),
  })
  .strict();

export type TracingConfig = z.infer<typeof TracingConfigSchema>;
export type TelemetryConfig = z.infer<typeof TelemetryConfigSchema>;
export const TELEMETRY_CONFIG_DEFAULT: TelemetryConfig = TelemetryConfigSchema.parse({});
