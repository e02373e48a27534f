import { z } from 'zod';

/** The configuration file `<dir>/countersign.yaml`. Validated once at start, then frozen. */
export const ConfigSchema = z
  .object({
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(7400),
        /** Largest request body accepted, in bytes; larger gets 413 before parsing. */
        bodyLimitBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024),
        /** Trust X-Forwarded-For from a proxy in front (affects per-address rate limits). */
        trustProxy: z.boolean().default(false),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 7400, bodyLimitBytes: 1024 * 1024, trustProxy: false }),
    database: z
      .object({
        /** `postgres://…`; empty means the embedded SQLite file `<dir>/countersign.db`. */
        url: z.string().default(''),
        sqliteSynchronous: z.enum(['full', 'normal']).default('full'),
        maxConnections: z.number().int().min(1).max(200).default(10),
      })
      .strict()
      .default({ url: '', sqliteSynchronous: 'full', maxConnections: 10 }),
    audit: z
      .object({
        /** A signed checkpoint every N entries (and on shutdown). */
        checkpointEvery: z.number().int().min(1).max(100000).default(100),
      })
      .strict()
      .default({ checkpointEvery: 100 }),
    plans: z
      .object({
        /** A plan still pending after this long expires. */
        pendingTtlHours: z.number().min(0.01).max(24 * 90).default(72),
      })
      .strict()
      .default({ pendingTtlHours: 72 }),
    rateLimit: z
      .object({
        enabled: z.boolean().default(true),
        perPrincipalPerMinute: z.number().int().min(1).default(6000),
        perAddressPerMinute: z.number().int().min(1).default(12000),
      })
      .strict()
      .default({ enabled: true, perPrincipalPerMinute: 6000, perAddressPerMinute: 12000 }),
    /**
     * The one development switch. It is checked in one place (config/dev-mode.ts) and printed
     * loudly at every start; production deployments keep it false.
     */
    developmentMode: z.boolean().default(false),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
