import type { FastifyInstance } from 'fastify';
import { type AlertIntake, IntakeResultSchema, PlanOriginSchema } from '../../alerts/index.ts';
import type { Pipeline } from '../../operations/index.ts';
import { runFor } from '../operations.ts';
import { errorSchema, IdParams, success } from '../schema.ts';

// alerts: webhook deliveries and the origin of alert plans.

/**
 * POST /v1/webhooks/{source}: public (no bearer) because a delivery proves itself by its
 * signature, checked by the intake against that source's secrets before anything is read. The
 * body is taken raw, in its own scope, since signatures cover the exact bytes sent.
 */
export async function webhookRoutes(app: FastifyInstance, intake: AlertIntake, ops: Pipeline): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: intake.maxBodyBytes() }, (_req, body, done) => done(null, body));
    // A body cut off before it was read (over every source's limit) is a refused delivery too.
    scope.addHook('onError', async (request, _reply, error) => {
      if ((error as { code?: string }).code !== 'FST_ERR_CTP_BODY_TOO_LARGE') return;
      const source = String((request.params as { source?: string } | undefined)?.source ?? '');
      await intake.auditRefusal(source, 'BODY_TOO_LARGE', `over ${intake.maxBodyBytes()} bytes`, request.ip, null).catch(() => {});
    });
    scope.post(
      '/v1/webhooks/:source',
      {
        schema: {
          tags: ['alerts'],
          summary:
            'A webhook delivery from an alert source (Alertmanager, Grafana, PagerDuty v3 or the generic signed form). Verified by its signature, deduplicated by alert group, answered 202.',
          params: { type: 'object', properties: { source: { type: 'string', maxLength: 63 } }, required: ['source'] },
          response: {
            202: success(IntakeResultSchema, 'Accepted: what was proposed, deduplicated, cancelled or annotated.'),
            // Refusals of a delivery: unsigned or stale (401), unknown source (404), replayed
            // (409), over the source's rate (429), or the store unavailable (503).
            ...Object.fromEntries([401, 404, 409, 429, 503].map((status) => [status, errorSchema(status)])),
          },
        },
        config: { public: true, operation: ['alert.receive', 'alert.plan', 'plan.propose', 'plan.cancel'] },
      },
      async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const result = await intake.receive((request.params as { source: string }).source, request.headers, body, request.ip);
        return reply.status(202).send(result);
      },
    );
  });
  app.get(
    '/v1/plans/:id/origin',
    {
      schema: {
        tags: ['plans'],
        summary: "Where an alert plan came from: each value's provenance, the planner and the model reviews. Decided as plan.read.",
        params: IdParams,
        response: { 200: success(PlanOriginSchema, 'The origin of the plan.') },
      },
      config: { operation: 'plan.origin' },
    },
    async (request) => runFor(ops, request, 'plan.origin', { planId: (request.params as { id: string }).id }),
  );
}
