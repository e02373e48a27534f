import type { FastifyInstance } from 'fastify';
import { ListPlansQuerySchema, type Pipeline } from '../../operations/index.ts';
import { PlanPageSchema, type PlanView, PlanViewSchema, ProposeBodySchema } from '../../plans/index.ts';
import { inputOf, runFor } from '../operations.ts';
import { IdParams, jsonSchema, success } from '../schema.ts';

export function planRoutes(app: FastifyInstance, ops: Pipeline): void {
  app.post(
    '/v1/plans',
    {
      schema: {
        tags: ['plans'],
        summary: 'Propose a plan: intent, environment and typed steps. Answers 201 with id, hash, status and risk.',
        body: jsonSchema(ProposeBodySchema),
        response: { 201: success(PlanViewSchema, 'The proposed plan, with its findings; Location names it.') },
      },
      config: { operation: 'plan.propose' },
    },
    async (request, reply) => {
      const view = await runFor<PlanView>(ops, request, 'plan.propose', inputOf(request.body));
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
      config: { operation: 'plan.get' },
    },
    async (request) => runFor(ops, request, 'plan.get', { planId: (request.params as { id: string }).id }),
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
      config: { operation: 'plan.list' },
    },
    async (request) => runFor(ops, request, 'plan.list', request.query ?? {}),
  );
}
