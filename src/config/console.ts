import { z } from 'zod';

const Risk = z.enum(['low', 'medium', 'high', 'critical']);

/** The reviewer console (issue 13): sessions, sign-in methods and the WebAuthn step-up. */
export const ConsoleConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Serve the reviewer console at `/`.'),
    sessionIdleMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(30)
      .describe('A console session unused for this long ends.'),
    sessionAbsoluteHours: z
      .number()
      .min(0.1)
      .max(24 * 7)
      .default(12)
      .describe('A console session ends this long after sign-in, however active.'),
    apiKeySignIn: z
      .boolean()
      .default(false)
      .describe('Development: allow signing in to the console with an API key (humans only). Use OIDC in production.'),
    origin: z
      .url()
      .optional()
      .describe(
        "The console's public origin (e.g. https://countersign.example.com): state changes must come from it, and it is the WebAuthn relying party. Unset: the request's own scheme and Host header; set it behind a proxy.",
      ),
    oidc: z
      .object({
        clientId: z
          .string()
          .min(1)
          .describe('The public client registered at the issuer of the `oidc` section (authorization code + PKCE, no secret).'),
        redirectUri: z.url().describe('Where the issuer sends the browser back: <origin>/console/auth/oidc/callback.'),
        scope: z.string().default('openid').describe('Scopes asked for at sign-in.'),
      })
      .strict()
      .optional()
      .describe(
        'OIDC sign-in (authorization code with PKCE) against the issuer of the `oidc` section; its access token is verified like any bearer token.',
      ),
    stepUp: z
      .object({
        risks: z.array(Risk).default(['high', 'critical']).describe('Approvals of plans at these risks need a WebAuthn assertion.'),
        environments: z
          .record(z.string(), z.array(Risk))
          .default({})
          .describe('Per environment, the risks that need a WebAuthn assertion (replaces `risks` there; [] turns step-up off).'),
      })
      .strict()
      .default({ risks: ['high', 'critical'], environments: {} })
      .describe('WebAuthn step-up: approving a risky plan in the console needs a security key bound to the plan hash.'),
  })
  .strict();

export type ConsoleConfig = z.infer<typeof ConsoleConfigSchema>;

export const CONSOLE_CONFIG_DEFAULT = {
  enabled: true,
  sessionIdleMinutes: 30,
  sessionAbsoluteHours: 12,
  apiKeySignIn: false,
  stepUp: { risks: ['high', 'critical'], environments: {} },
} as const;
