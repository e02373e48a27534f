import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/index.ts';
import { CountersignError } from '../errors/index.ts';
import type { RequestBudget } from '../limits/index.ts';
import type { Principal } from '../policy/index.ts';
import { NO_TENANT, type Store } from '../store/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Routes are authenticated unless they say `public: true` (health, docs). */
    public?: boolean;
    /**
     * The operation(s) of the operations table the route runs (null: identity only). The
     * chokepoint test checks every authenticated route names operations of the table.
     */
    operation?: string | readonly string[] | null;
  }
}

/** Tenant id recorded on audit entries of requests that never proved a tenant. */
export { NO_TENANT } from '../store/index.ts';

/**
 * Authentication as a hook so no route can forget it: every route is private unless its config
 * says public. Failures are audited with their reason and answered with one uniform 401.
 */
export function registerAuthentication(
  app: FastifyInstance,
  authenticator: Authenticator,
  store: Store,
  limiter: RequestBudget | null,
): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (request.routeOptions.config?.public) return;
    try {
      request.principal = await authenticator.authenticate(request.headers.authorization);
    } catch (err) {
      // Failed authentication is audited (once per request; the per-address limit bounds it).
      if (err instanceof CountersignError && err.code === 'UNAUTHENTICATED') {
        await store.scope(NO_TENANT).audit({
          actor: 'anonymous',
          action: 'auth.authenticate',
          outcome: 'denied',
          resource: `route:${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
          details: { reason: err.details?.reason ?? 'unknown', ip: request.ip, method: err.details?.method ?? 'api_key' },
        });
      }
      throw err;
    }
    await limiter?.take(request.principal.id);
  });
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new CountersignError('UNAUTHENTICATED', 'a valid credential is required (API key or OIDC token)');
  return request.principal;
}
