import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { AlertIntake } from '../alerts/index.ts';
import { type StepUpSettings, stepUpSettings } from '../approvals/index.ts';
import type { Authenticator } from '../auth/index.ts';
import type { ChatService } from '../chat/index.ts';
import type { Config } from '../config/index.ts';
import { registerConsole } from '../console/index.ts';
import { RequestBudgets } from '../limits/index.ts';
import type { LiveHub } from '../live/index.ts';
import { type Metrics, metricsRoutes, type ScrapeAccess } from '../metrics/index.ts';
import type { Pipeline } from '../operations/index.ts';
import type { Authorizer } from '../policy/index.ts';
import type { Runtime } from '../runtime.ts';
import { logLineRedactor } from '../secrets/index.ts';
import type { Store } from '../store/index.ts';
import { acceptRequestId, TRACING_OFF, type Tracing } from '../telemetry/index.ts';
import { registerAuthentication } from './auth.ts';
import { answerClientError, answerFrameworkError, registerErrorHandling } from './errors.ts';
import { registerRequestTelemetry } from './observability.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { auditRoutes } from './routes/audit.ts';
import { chatRoutes } from './routes/chat.ts';
import { executionRoutes } from './routes/executions.ts';
import { healthRoutes } from './routes/health.ts';
import { mcpRoutes } from './routes/mcp.ts';
import { overrideRoutes } from './routes/overrides.ts';
import { planRoutes } from './routes/plans.ts';
import { principalRoutes } from './routes/principals.ts';
import { toolRoutes } from './routes/tools.ts';
import { trustRoutes } from './routes/trust.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { errorSchema, errorStatuses } from './schema.ts';

export interface ApiServices {
  store: Store;
  authenticator: Authenticator;
  /** The operations table: every route below is a mapping onto one of its operations. */
  pipeline: Pipeline;
  /** The live policy set, for readiness (`/readyz` reports whether a safe set is loaded). */
  authorizer?: Authorizer;
  /** This process's metrics and who may scrape them; absent: no /metrics route. */
  metrics?: Metrics;
  scrapeAccess?: ScrapeAccess;
  /** Signals of new events and credential changes for open streams; absent: streams poll. */
  live?: LiveHub;
  /** alerts: the webhook intake; absent, no webhook route is served. */
  alerts?: AlertIntake;
  /** Chat callbacks (Slack, Telegram); null when notifications.yaml configures neither. */
  chat?: ChatService | null;
  /** With both, the reviewer console is served at `/` (issue 13) unless `console.enabled` is false. */
  config?: Readonly<Config>;
  runtime?: Runtime;
  /** Which approvals need step-up; absent: from `config.console`. */
  stepUp?: StepUpSettings;
  /** replicas: the request budgets a config reload adjusts; absent, built from `rateLimit` below. */
  budgets?: RequestBudgets;
}

export interface ApiOptions {
  bodyLimitBytes: number;
  trustProxy: boolean;
  rateLimit: { enabled: boolean; perAddressPerMinute: number; perPrincipalPerMinute: number };
  version: string;
  logger: boolean | { level: string };
  /** How often live event streams re-check their subscriber (default 15 s). */
  streamRecheckMs?: number;
  /** While PostgreSQL notifications arrive, how often a stream still looks on its own (default 5 s). */
  streamLivePollMs?: number;
  /** How often an idle event stream sends a keep-alive comment (default 15 s). */
  streamKeepAliveMs?: number;
  /** observability: where request and operation spans go (default: tracing off). */
  tracing?: Tracing;
}

export interface RouteInfo {
  method: string;
  url: string;
  public: boolean;
  /** The operations of the table the route runs; null for identity-only routes. */
  operations: readonly string[] | null;
}
const ROUTES = new WeakMap<FastifyInstance, RouteInfo[]>();

/** Every route the app registered: the chokepoint test enumerates these (invariant 2). */
export function routesOf(app: FastifyInstance): RouteInfo[] {
  return [...(ROUTES.get(app) ?? [])];
}

/** The HTTP API: plugins in a fixed order — errors, rate limits, docs, authentication, routes. */
export async function buildApi(services: ApiServices, options: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // Every serialized log line passes the same redaction as the audit log (invariant 12).
    logger:
      options.logger === false
        ? false
        : { ...(options.logger === true ? {} : options.logger), hooks: { streamWrite: logLineRedactor(services.store.knownSecrets) } },
    bodyLimit: options.bodyLimitBytes,
    trustProxy: options.trustProxy,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // A caller's X-Request-Id only when it is safe to write into a log line; else a fresh one.
    requestIdHeader: false,
    genReqId: (req) => acceptRequestId(req.headers['x-request-id']),
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    // Errors raised before a route runs answer in the API's shape too, without echoing the request.
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
  });
  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      routes.push({
        method: String(method),
        url: route.url,
        public: Boolean(route.config?.public) || route.url.startsWith('/docs'),
        operations: route.config?.operation == null ? null : [route.config.operation].flat(),
      });
  });
  ROUTES.set(app, routes);
  // zod validates inside each service (one schema language); route JSON schemas serve the docs.
  app.setValidatorCompiler(() => (value) => ({ value }));
  // Response schemas document the answers; the body sent is exactly what the service returned
  // (fast-json-stringify would drop an undeclared field or coerce a value without a word).
  // test/api-openapi.test.ts validates real answers against the declared schemas instead.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // Every documented operation lists its error answers, by what kind of route it is.
  app.addHook('onRoute', (route) => {
    const schema = route.schema as (Record<string, unknown> & { response?: Record<string, unknown> }) | undefined;
    if (!schema || schema.hide || route.url.startsWith('/docs')) return;
    const method = String([route.method].flat()[0]);
    const response = schema.response ?? {};
    for (const status of errorStatuses({ method, public: Boolean(route.config?.public), hasBody: method !== 'GET' && method !== 'HEAD' }))
      response[status] ??= errorSchema(status);
    schema.response = response;
    // A public route asks for no credential; the document says so (the rest keep the global bearer).
    if (route.config?.public) schema.security = [];
  });
  // JSON only: a text/plain body must be a 415, not a string that reaches a handler.
  app.removeContentTypeParser('text/plain');
  registerErrorHandling(app);
  registerRequestTelemetry(app, options.tracing ?? TRACING_OFF);

  // Per-address budget first, before authentication, so unauthenticated floods are cut off
  // before they cost a key lookup or an audit write (invariant 17).
  // Shared by every replica on PostgreSQL (src/limits), so N replicas still allow one budget;
  // the server's own budgets follow its config reloads (SIGHUP).
  const budgets = options.rateLimit.enabled ? (services.budgets ?? new RequestBudgets(services.store, options.rateLimit)) : null;
  if (budgets) {
    const byAddress = budgets.byAddress;
    app.addHook('onRequest', async (request) => {
      const config = request.routeOptions.config;
      // Console routes are `public` to the bearer hook (they authenticate by session) but are limited like the rest.
      if (!config?.public || config.addressLimited) await byAddress.take(`ip:${request.ip}`);
    });
  }

  await app.register(swagger, {
    openapi: {
      // 3.1: its schemas are JSON Schema 2020-12, what zod's toJSONSchema writes.
      openapi: '3.1.0',
      info: { title: 'Countersign API', version: options.version, description: 'Propose, approve and execute privileged plans.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  // The API reference is public; every other route authenticates.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...(route.config ?? {}), public: true };
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });

  registerAuthentication(app, services.authenticator, services.store, budgets?.byPrincipal ?? null);
  healthRoutes(app, services.store, options.version, services.authorizer);
  const ops = services.pipeline;
  planRoutes(app, ops);
  approvalRoutes(app, ops);
  principalRoutes(app, ops);
  executionRoutes(app, ops, services.authenticator, {
    recheckMs: options.streamRecheckMs ?? 15_000,
    live: services.live,
    livePollMs: options.streamLivePollMs,
    keepAliveMs: options.streamKeepAliveMs,
  });
  auditRoutes(app, ops);
  trustRoutes(app, ops);
  overrideRoutes(app, ops);
  toolRoutes(app, ops);
  mcpRoutes(app, ops);
  // ---- scale-out: Prometheus metrics ----
  if (services.metrics && services.scrapeAccess) metricsRoutes(app, services.metrics, services.scrapeAccess);
  // alerts: webhook deliveries and plan origins
  if (services.alerts) await webhookRoutes(app, services.alerts, ops);
  // ---- chat (issue 14) ----
  chatRoutes(app, ops, services.chat ?? null);
  // --- reviewer console (issue 13) ---
  if (services.config?.console.enabled && services.runtime) {
    const { config, runtime } = services;
    await registerConsole(
      app,
      { ...services, config, runtime, stepUp: services.stepUp ?? stepUpSettings(config.console) },
      { recheckMs: options.streamRecheckMs ?? 15_000 },
    );
  }
  return app;
}
