import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Authenticator } from '../auth/index.ts';
import type { Pipeline } from '../operations/index.ts';
import { logLineRedactor } from '../secrets/index.ts';
import type { Store } from '../store/index.ts';
import { registerAuthentication } from './auth.ts';
import { registerErrorHandling } from './errors.ts';
import { PrincipalRateLimiter } from './rate-limit.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { auditRoutes } from './routes/audit.ts';
import { executionRoutes } from './routes/executions.ts';
import { healthRoutes } from './routes/health.ts';
import { mcpRoutes } from './routes/mcp.ts';
import { overrideRoutes } from './routes/overrides.ts';
import { planRoutes } from './routes/plans.ts';
import { principalRoutes } from './routes/principals.ts';
import { toolRoutes } from './routes/tools.ts';
import { trustRoutes } from './routes/trust.ts';

export interface ApiServices {
  store: Store;
  authenticator: Authenticator;
  /** The operations table: every route below is a mapping onto one of its operations. */
  pipeline: Pipeline;
}

export interface ApiOptions {
  bodyLimitBytes: number;
  trustProxy: boolean;
  rateLimit: { enabled: boolean; perAddressPerMinute: number; perPrincipalPerMinute: number };
  version: string;
  logger: boolean | { level: string };
  /** How often live event streams re-check their subscriber (default 15 s). */
  streamRecheckMs?: number;
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
    requestIdHeader: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
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
  // JSON only: a text/plain body must be a 415, not a string that reaches a handler.
  app.removeContentTypeParser('text/plain');
  registerErrorHandling(app);

  // Per-address budget first, before authentication, so unauthenticated floods are cut off
  // before they cost a key lookup or an audit write (invariant 17).
  if (options.rateLimit.enabled) {
    const byAddress = new PrincipalRateLimiter(options.rateLimit.perAddressPerMinute);
    app.addHook('onRequest', async (request) => {
      if (!request.routeOptions.config?.public) byAddress.take(`ip:${request.ip}`);
    });
  }

  await app.register(swagger, {
    openapi: {
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

  const limiter = options.rateLimit.enabled ? new PrincipalRateLimiter(options.rateLimit.perPrincipalPerMinute) : null;
  registerAuthentication(app, services.authenticator, services.store, limiter);
  healthRoutes(app, services.store, options.version);
  const ops = services.pipeline;
  planRoutes(app, ops);
  approvalRoutes(app, ops);
  principalRoutes(app, ops);
  executionRoutes(app, ops, services.authenticator, { recheckMs: options.streamRecheckMs ?? 15_000 });
  auditRoutes(app, ops);
  trustRoutes(app, ops);
  overrideRoutes(app, ops);
  toolRoutes(app, ops);
  mcpRoutes(app, ops);
  return app;
}
