import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Store } from '../../store/index.ts';
import { errorSchema, success } from '../schema.ts';

export const HealthSchema = z.object({ status: z.literal('ok'), version: z.string() });
const ReadySchema = z.object({ status: z.literal('ready'), store: z.enum(['sqlite', 'postgres']) });
/** What `/` says until a console is served there: where the API and its reference are. */
const IndexSchema = z.object({
  name: z.literal('Countersign'),
  version: z.string(),
  docs: z.string(),
  openapi: z.string(),
  health: z.string(),
});

export function healthRoutes(app: FastifyInstance, store: Store, version: string): void {
  app.get(
    '/',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Where to start: the API reference at /docs and the OpenAPI document at /docs/json.',
        response: { 200: success(IndexSchema, 'Links to the API reference.') },
      },
    },
    async () => ({ name: 'Countersign', version, docs: '/docs', openapi: '/docs/json', health: '/healthz' }) as const,
  );
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process answers.',
        response: { 200: success(HealthSchema, 'The process is up.') },
      },
    },
    async () => ({ status: 'ok', version }) as const,
  );
  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Readiness: the database answers.',
        response: { 200: success(ReadySchema, 'The database answers.'), 503: errorSchema(503) },
      },
    },
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
