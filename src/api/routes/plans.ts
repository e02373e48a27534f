import type { FastifyInstance } from 'fastify';
import { ProposeBodySchema } from '../../plans/document.ts';
import { ListPlansQuerySchema, type PlanService } from '../../plans/service.ts';
import { PlanPageSchema, PlanViewSchema } from '../../plans/view.ts';
import { principalOf } from '../auth.ts';
import { IdParams, jsonSchema, success } from '../schema.ts';

export function planRoutes(app: FastifyInstance, plans: PlanService): void {
  app.post(
    '/v1/plans',
    {
      schema: {
        tags: ['plans'],
        summary: 'Propose a plan: intent, environment and typed steps. Answers 201 with id, hash, status and risk.',
        body: jsonSchema(ProposeBodySchema),
        response: { 201: success(PlanViewSchema, 'The proposed plan, with its findings; Location names it.') },
      },
    },
    async (request, reply) => {
      const view = await plans.propose(principalOf(request), request.body, 'api');
      return reply.status(201).header('location', `/v1/plans/${view.id}`).send(view);
    },
  );
  app.get(
    '/v1/plans/:id',
    {
      schema: {
        tags: ['plans'],
        summary: 'One plan of the caller’s tenant.',
        params: IdParams,
        response: { 200: success(PlanViewSchema, 'The plan with its approvals, tally and findings.') },
      },
    },
    async (request) => plans.get(principalOf(request), (request.params as { id: string }).id),
  );
  app.get(
    '/v1/plans',
    {
      schema: {
        tags: ['plans'],
        summary: 'Plans of the caller’s tenant, newest first, paged by cursor.',
        querystring: jsonSchema(ListPlansQuerySchema),
        response: { 200: success(PlanPageSchema, 'A page of plans; pass nextCursor as cursor for the next.') },
      },
    },
    async (request) => plans.list(principalOf(request), request.query),
  );
}
