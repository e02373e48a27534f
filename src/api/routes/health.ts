import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HealthSchema } from '../../health/index.ts';
import { type Authorizer, checkCanaries } from '../../policy/index.ts';
import type { Store } from '../../store/index.ts';
import { errorSchema, success } from '../schema.ts';

const ReadyChecksSchema = z.object({
  store: z.enum(['ok', 'unreachable']).describe('The database answered a query within 3 s.'),
  migrations: z
    .enum(['current', 'pending', 'unknown'])
    .describe("Every migration of this release has run (a newer release's extra ones are fine)."),
  policy: z.enum(['loaded', 'unsafe', 'none']).describe('A policy set is loaded and its canaries are denied.'),
});
const ReadySchema = z.object({ status: z.literal('ready'), store: z.enum(['sqlite', 'postgres']), checks: ReadyChecksSchema });
type ReadyChecks = z.infer<typeof ReadyChecksSchema>;

/** How long a readiness probe waits for the database: a probe must answer, even in a partition. */
const PROBE_TIMEOUT_MS = 3_000;

/** Store reachable, migrations current, policy loaded: what a load balancer needs before sending traffic. */
async function readiness(store: Store, authorizer: Authorizer | undefined): Promise<ReadyChecks> {
  let reachable = true;
  try {
    await store.ping(PROBE_TIMEOUT_MS);
  } catch {
    reachable = false;
  }
  let migrations: ReadyChecks['migrations'] = 'unknown';
  if (reachable) {
    try {
      migrations = (await store.migrationState()).pending.length === 0 ? 'current' : 'pending';
    } catch {
      reachable = false;
    }
  }
  const policy = authorizer === undefined ? 'none' : checkCanaries(authorizer).ok ? 'loaded' : 'unsafe';
  return { store: reachable ? 'ok' : 'unreachable', migrations, policy };
}
/** What `/` says until a console is served there: where the API and its reference are. */
const IndexSchema = z.object({
  name: z.literal('Countersign'),
  version: z.string(),
  docs: z.string(),
  openapi: z.string(),
  health: z.string(),
});

export function healthRoutes(app: FastifyInstance, store: Store, version: string, authorizer?: Authorizer): void {
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
        summary: 'Readiness: the database answers, every migration of this release has run, and a safe policy set is loaded.',
        response: {
          200: success(ReadySchema, 'Ready for traffic.'),
          503: errorSchema(503),
        },
      },
    },
    async (_request, reply) => {
      const checks = await readiness(store, authorizer);
      if (checks.store === 'ok' && checks.migrations === 'current' && checks.policy === 'loaded')
        return { status: 'ready', store: store.engine, checks };
      const code = checks.store === 'ok' ? 'INTERNAL' : 'STORE_UNAVAILABLE';
      const why =
        checks.store !== 'ok'
          ? 'the database is unreachable'
          : checks.migrations !== 'current'
            ? 'migrations are pending'
            : 'no safe policy set is loaded';
      // Not an error the caller made: 503 tells a load balancer to send traffic elsewhere for now.
      return reply.status(503).send({ error: { code, message: `not ready: ${why}`, details: { checks } } });
    },
  );
}
