import { z } from 'zod';
// The pure JWT policy (no store), its own small module so loading config stays light.
import { ASYMMETRIC_JWS_ALGORITHMS, isAsymmetricJwsAlgorithm, jwksUrlProblem } from '../jwt-policy/index.ts';
import { TELEMETRY_CONFIG_DEFAULT, TelemetryConfigSchema } from '../telemetry/index.ts';
import { ALERTS_CONFIG_DEFAULT, AlertsConfigSchema } from './alerts.ts';
import { CONSOLE_CONFIG_DEFAULT, ConsoleConfigSchema } from './console.ts';
import { DATABASE_CONFIG_DEFAULT, DatabaseConfigSchema } from './database.ts';
import { KEYS_CONFIG_DEFAULT, KeysConfigSchema } from './keys.ts';

const HostName = z
  .string()
  .regex(
    /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.?)$/,
    'must be an exact host name or IP literal (no scheme, port or wildcard)',
  );

const GroupName = z.string().min(1).max(128);
const ClaimName = z.string().min(1).max(128);

/**
 * OIDC bearer JWTs. Absent means no JWT login at all (invariant 15: no JWKS, no JWT login).
 * A verified token's `sub` is looked up as a principal *name* in `tenant`; unknown subjects are
 * refused (no auto-provisioning). See src/auth/oidc.ts for the groups rule.
 */
export const OidcConfigSchema = z
  .object({
    /** Compared exactly with the token's `iss`. https, unless allowPrivateAddresses. */
    issuer: z.url().describe("Compared exactly with the token's `iss`. https unless allowPrivateAddresses."),
    /** The token's `aud` must contain this (the resource indicator of this Countersign). */
    audience: z.string().min(1).describe("The token's `aud` must contain this: the resource indicator of this Countersign."),
    /** https, host on jwksAllowlist, never a private/loopback/link-local address. */
    jwksUrl: z
      .url()
      .describe(
        "Where the IdP's signing keys are fetched: https, its host on jwksAllowlist, never a private, loopback or link-local address.",
      ),
    jwksAllowlist: z.array(HostName).min(1).describe('Exact host names jwksUrl may point at (no wildcards).'),
    algorithms: z
      .array(
        z.string().refine(isAsymmetricJwsAlgorithm, {
          message: `only asymmetric algorithms are allowed (${ASYMMETRIC_JWS_ALGORITHMS.join(', ')}); HS* and none are refused`,
        }),
      )
      .min(1)
      .default(['EdDSA', 'ES256', 'RS256'])
      .describe('JWS algorithms accepted; asymmetric only (HS* and none are refused).'),
    /** Leeway for exp/nbf/iat between our clock and the IdP's; bounded so an expired token stays expired. */
    clockSkewSeconds: z
      .number()
      .int()
      .min(0)
      .max(300)
      .default(30)
      .describe("Leeway for exp, nbf and iat between this server's clock and the IdP's."),
    /** Name of the tenant the IdP's identities belong to. */
    tenant: z
      .string()
      .min(1)
      .default('default')
      .describe("Name of the tenant the IdP's identities belong to; `sub` is looked up as a principal name there."),
    /** Claim holding the caller's groups (an array of strings). */
    groupsClaim: ClaimName.default('groups').describe("Claim holding the caller's groups (an array of strings)."),
    /**
     * Groups whose membership the IdP decides. For these, the token's groups claim is the truth
     * (added and removed); every other group comes only from the stored principal. Empty (the
     * default) means the claim grants nothing.
     */
    delegatedGroups: z
      .array(GroupName)
      .default([])
      .describe(
        "Groups whose membership the token's groups claim decides (added and removed); every other group comes from the stored principal. Empty: the claim grants nothing.",
      ),
    /**
     * Optional claim saying `human` or `agent`. It can only lower a stored human to agent, never
     * raise an agent: the stored principal's kind is the ceiling.
     */
    principalKindClaim: ClaimName.optional().describe(
      'Claim saying `human` or `agent`; it can lower a stored human to agent, never raise an agent.',
    ),
    /** Required JOSE `typ` header, e.g. `at+jwt` (RFC 9068) so an ID token is not taken for an access token. */
    requiredTokenType: z
      .string()
      .min(1)
      .optional()
      .describe('Required JOSE `typ` header, e.g. `at+jwt` (RFC 9068), so an ID token is not taken for an access token.'),
    /** Development only: allows http and loopback/private addresses for a local provider. */
    allowPrivateAddresses: z
      .boolean()
      .default(false)
      .describe(
        'Development only: allows http and loopback or private addresses for a local identity provider. doctor reports it as a FAIL.',
      ),
  })
  .strict()
  .superRefine((oidc, ctx) => {
    if (!oidc.allowPrivateAddresses && !oidc.issuer.startsWith('https://')) {
      ctx.addIssue({
        code: 'custom',
        path: ['issuer'],
        message: 'must be an https URL (http only with allowPrivateAddresses, development)',
      });
    }
    const problem = jwksUrlProblem(oidc.jwksUrl, { allowlist: oidc.jwksAllowlist, allowPrivateAddresses: oidc.allowPrivateAddresses });
    if (problem) ctx.addIssue({ code: 'custom', path: ['jwksUrl'], message: problem });
  });

export type OidcConfig = z.infer<typeof OidcConfigSchema>;

const EnvironmentName = z.string().min(1).max(64);
/** K in "K valid signatures from the N trusted keys". Never 0: that would be a bypass. */
const SignatureCount = z.number().int().min(1).max(16);

/**
 * Signed tools (invariant 13). The trust store (publisher keys) is installation-wide and lives in
 * the database; how many of its keys must have signed a manifest is set here, per environment.
 */
export const TrustConfigSchema = z
  .object({
    /** Valid signatures from trusted keys a manifest needs in an environment not listed below. */
    required: SignatureCount.default(1).describe(
      'K: valid signatures from trusted publisher keys a manifest needs in an environment not listed in environments.',
    ),
    /** Per-environment K, e.g. `{prod: 2}`. */
    environments: z
      .record(EnvironmentName, SignatureCount)
      .default({})
      .describe(
        'K per environment, e.g. `{prod: 2}`. A manifest loads with the smallest K of all; each environment checks its own at propose, execute and every step.',
      ),
    /** The tenant (by name) whose principals may change the installation-wide trust store. */
    adminTenant: z
      .string()
      .min(1)
      .max(128)
      .default('default')
      .describe('The tenant (by name) whose principals may change the installation-wide trust store.'),
  })
  .strict();
export type TrustConfig = z.infer<typeof TrustConfigSchema>;

/** True for a URL whose host is a loopback address or name. */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export const NotificationsConfigSchema = z
  .object({
    /**
     * Break-glass notifications (override issue, use, revoke) are POSTed here as JSON. https;
     * http only to a loopback address and only with developmentMode. Empty: none are sent (the
     * audit entries are written either way).
     */
    webhookUrl: z
      .string()
      .max(2048)
      .default('')
      .describe(
        'Break-glass notifications (override issue, use, revoke) are POSTed here as JSON. https; http only to a loopback address with developmentMode. Empty: none are sent (the audit entries are written either way).',
      ),
    timeoutMilliseconds: z
      .number()
      .int()
      .min(100)
      .max(60_000)
      .default(5000)
      .describe('How long one delivery may take before it is logged as failed.'),
  })
  .strict();

/** The configuration file `<dir>/countersign.yaml`. Validated once at start, then frozen. */
/** Who may scrape /metrics (src/metrics/access.ts); the executor's metrics listener. */
const MetricsConfigSchema = z
  .object({
    bearerTokenFile: z
      .string()
      .default('')
      .describe(
        'A file holding the token scrapes must present as `Authorization: Bearer …` (relative to the data directory, at least 32 characters). Empty: only loopback peers may scrape, and none when server.trustProxy is on. A missing or short file stops the start.',
      ),
    executorHost: HostName.default('127.0.0.1').describe('Where an executor serves its own /metrics (step durations, sandbox refusals).'),
    executorPort: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(0)
      .describe('The port of the executor’s /metrics; 0: the executor serves no metrics.'),
  })
  .strict();

export const ConfigSchema = z
  .object({
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1').describe('Address the API listens on (`--host` overrides).'),
        port: z
          .number()
          .int()
          .min(0)
          .max(65535)
          .default(7400)
          .describe('Port the API listens on; 0 picks a free one (`--port` overrides).'),
        /** Largest request body accepted, in bytes; larger gets 413 before parsing. */
        bodyLimitBytes: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(1024 * 1024)
          .describe('Largest request body accepted, in bytes; a larger one gets 413 before it is parsed.'),
        /** Trust X-Forwarded-For from a proxy in front (affects per-address rate limits). */
        trustProxy: z
          .boolean()
          .default(false)
          .describe('Trust X-Forwarded-For from a proxy in front (it decides the per-address rate limit).'),
      })
      .strict()
      .describe('The API server.')
      .default({ host: '127.0.0.1', port: 7400, bodyLimitBytes: 1024 * 1024, trustProxy: false }),
    database: DatabaseConfigSchema.default(DATABASE_CONFIG_DEFAULT),
    audit: z
      .object({
        /** A signed checkpoint every N entries (and on shutdown). */
        checkpointEvery: z
          .number()
          .int()
          .min(1)
          .max(100000)
          .default(100)
          .describe('A signed checkpoint of the audit chain every N entries (and at shutdown); it makes truncation detectable.'),
        witnesses: z
          .array(
            z
              .object({
                url: z
                  .string()
                  .regex(/^https?:\/\/[^\s]+$/, 'an http(s) URL')
                  .describe("The witness's submission prefix: checkpoints are POSTed to <url>/add-checkpoint (C2SP tlog-witness)."),
                key: z
                  .string()
                  .regex(
                    /^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/,
                    'a witness key <name>+<8 hex digits>+<base64> (`countersign witness init` prints it)',
                  )
                  .describe("The witness's cosigner key; its cosignatures are verified with it."),
              })
              .strict(),
          )
          .max(16)
          .default([])
          .describe(
            'Witnesses the API server hands a signed checkpoint of the audit tree to (`countersign witness serve` runs one). Their cosignatures are stored with the checkpoint.',
          ),
        witnessEverySeconds: z
          .number()
          .int()
          .min(1)
          .max(86_400)
          .default(30)
          .describe(
            'How often the server checkpoints new entries and hands the checkpoint to the witnesses (an approval that a grant waits for triggers one at once).',
          ),
        witnessQuorum: z
          .number()
          .int()
          .min(1)
          .max(16)
          .default(1)
          .describe('How many distinct witnesses must cosign a checkpoint for it to count as witnessed.'),
        holdGrantsForRisks: z
          .array(z.enum(['low', 'medium', 'high', 'critical']))
          .default([])
          .describe(
            'Plans of these risks get their grant only once their approvals are in a witnessed checkpoint (e.g. [high, critical]); until then `plan execute` answers WITNESS_PENDING. Needs `witnesses`.',
          ),
      })
      .strict()
      .superRefine((a, ctx) => {
        if (a.holdGrantsForRisks.length > 0 && a.witnesses.length < a.witnessQuorum)
          ctx.addIssue({
            code: 'custom',
            path: ['holdGrantsForRisks'],
            message: `holding grants needs at least witnessQuorum (${a.witnessQuorum}) witnesses; ${a.witnesses.length} configured`,
          });
      })
      .describe('The tamper-evident audit log.')
      .default({ checkpointEvery: 100, witnesses: [], witnessEverySeconds: 30, witnessQuorum: 1, holdGrantsForRisks: [] }),
    plans: z
      .object({
        /** A plan still pending after this long expires. */
        pendingTtlHours: z
          .number()
          .min(0.01)
          .max(24 * 90)
          .default(72)
          .describe('A plan still pending approval after this many hours expires; so does one that waited this long for its previews.'),
      })
      .strict()
      .describe('Plans.')
      .default({ pendingTtlHours: 72 }),
    rateLimit: z
      .object({
        enabled: z.boolean().default(true).describe('Rate limits on; doctor reports false as a FAIL.'),
        perPrincipalPerMinute: z.number().int().min(1).default(6000).describe('Requests per minute per authenticated principal.'),
        perAddressPerMinute: z.number().int().min(1).default(12000).describe('Requests per minute per client address.'),
      })
      .strict()
      .describe('Request rate limits (invariant 17).')
      .default({ enabled: true, perPrincipalPerMinute: 6000, perAddressPerMinute: 12000 }),
    /**
     * The one development switch. It is checked in one place (config/dev-mode.ts) and printed
     * loudly at every start; production deployments keep it false.
     */
    developmentMode: z
      .boolean()
      .default(false)
      .describe(
        'The one development switch: steps run WITHOUT the sandbox and unsigned manifests load (marked and audited). Printed at every start; never in production.',
      ),
    grants: z
      .object({
        /** Lifetime of a grant; the executor must claim the execution before it expires. */
        ttlSeconds: z
          .number()
          .int()
          .min(10)
          .max(3600)
          .default(300)
          .describe('Lifetime of a grant: the executor must claim the execution before it expires.'),
      })
      .strict()
      .describe('Grants: single-use capability tokens for one execution.')
      .default({ ttlSeconds: 300 }),
    executor: z
      .object({
        /** A claim lasts this long without a heartbeat; then another executor may take over. */
        leaseSeconds: z
          .number()
          .min(1)
          .max(3600)
          .default(30)
          .describe('A claim lasts this long without a heartbeat; then another executor may take the execution over.'),
        pollMilliseconds: z.number().int().min(10).max(60_000).default(500).describe('How often an idle executor looks for work.'),
        /** Retries of a failing idempotent step, with exponential backoff from baseMilliseconds. */
        retryAttempts: z.number().int().min(0).max(10).default(2).describe('Retries of a failing idempotent step.'),
        retryBaseMilliseconds: z
          .number()
          .int()
          .min(1)
          .max(60_000)
          .default(500)
          .describe('First retry delay; it doubles with each attempt.'),
        /** Where per-execution work directories are made (never inside the data directory); empty = a private dir under the system temp dir. */
        workDir: z
          .string()
          .default('')
          .describe(
            'Where per-execution work directories are made (never inside the data directory); empty: a private directory under the system temp directory.',
          ),
        /** On SIGTERM, how long the current step may take before the executor releases it. */
        drainSeconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .default(30)
          .describe('On SIGTERM, how long the current step may take before the executor releases it.'),
      })
      .strict()
      .describe('The executor: the only process that runs tools.')
      .default({ leaseSeconds: 30, pollMilliseconds: 500, retryAttempts: 2, retryBaseMilliseconds: 500, workDir: '', drainSeconds: 30 }),
    oidc: OidcConfigSchema.optional().describe(
      'OIDC bearer JWTs from your identity provider. Absent: no JWT login at all (API keys only).',
    ),
    trust: TrustConfigSchema.default({ required: 1, environments: {}, adminTenant: 'default' }).describe(
      'Signed tools: how many trusted publisher signatures a manifest needs (K of N).',
    ),
    notifications: NotificationsConfigSchema.default({ webhookUrl: '', timeoutMilliseconds: 5000 }).describe(
      'Where break-glass events are sent.',
    ),
    // ---- scale-out: metrics ----
    metrics: MetricsConfigSchema.default({ bearerTokenFile: '', executorHost: '127.0.0.1', executorPort: 0 }).describe(
      'Prometheus metrics at /metrics: who may scrape, and where an executor serves its own.',
    ),
    // alerts: webhook sources, models and budgets (src/alerts, docs/alerts.md)
    alerts: AlertsConfigSchema.default(ALERTS_CONFIG_DEFAULT).describe(
      'Alert intake: webhook sources, the models playbooks may call, and per-tenant model budgets.',
    ),
    // --- reviewer console (issue 13) ---
    console: ConsoleConfigSchema.default({ ...CONSOLE_CONFIG_DEFAULT, stepUp: { risks: ['high', 'critical'], environments: {} } }).describe(
      'The reviewer console served at `/`: sessions, sign-in and the WebAuthn step-up.',
    ),
    // ---- replicas: keys from a path replicas share ----
    keys: KeysConfigSchema.default(KEYS_CONFIG_DEFAULT).describe(
      'Where the grant, audit and override keys are read: `<dir>/keys`, or a secret path every replica mounts.',
    ),
    // ---- observability: traces (issue 16) ----
    telemetry: TelemetryConfigSchema.default(TELEMETRY_CONFIG_DEFAULT).describe(
      'OpenTelemetry traces, off by default (docs/observability.md).',
    ),
  })
  .strict()
  .superRefine((c, ctx) => {
    const hook = c.notifications.webhookUrl;
    if (hook === '') return;
    let url: URL;
    try {
      url = new URL(hook);
    } catch {
      ctx.addIssue({ code: 'custom', path: ['notifications', 'webhookUrl'], message: 'must be an absolute https URL' });
      return;
    }
    if (url.protocol === 'https:') return;
    if (url.protocol === 'http:' && isLoopbackUrl(url) && c.developmentMode) return;
    ctx.addIssue({
      code: 'custom',
      path: ['notifications', 'webhookUrl'],
      message: 'must be an https URL (http only to a loopback address, and only with developmentMode)',
    });
  });

export type Config = z.infer<typeof ConfigSchema>;
