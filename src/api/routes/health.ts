import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/index.ts';

export function healthRoutes(app: FastifyInstance, store: Store, version: string): void {
  app.get('/healthz', { config: { public: true }, schema: { tags: ['health'], summary: 'Liveness: the process answers.' } }, async () => ({
    status: 'ok',
    version,
  }));
  app.get(
    '/readyz',
    { config: { public: true }, schema: { tags: ['health'], summary: 'Readiness: the database answers.' } },
    async (_request, reply) => {
      try {
        await store.ping();
        return { status: 'ready', store: store.engine };
      } catch {
        return reply.status(503).send({ error: { code: 'STORE_UNAVAILABLE', message: 'the database is unreachable' } });
      }
    },
  );
}
