import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../src/api/app.ts';
import type { ServerContext } from '../../src/server/context.ts';

/** The real API over a server context, as `serve` builds it, with the rate limit off and no log. */
export function benchApi(ctx: ServerContext): Promise<FastifyInstance> {
  return buildApi(ctx, {
    bodyLimitBytes: ctx.config.server.bodyLimitBytes,
    trustProxy: false,
    rateLimit: { ...ctx.config.rateLimit, enabled: false },
    version: 'bench',
    logger: false,
  });
}
