import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { InboxQuerySchema, type Pipeline, ReviewBodySchema, reviewOperationFor } from '../../operations/index.ts';
import { DecisionResultSchema, InboxSchema, PlanViewSchema } from '../../plans/index.ts';
import { inputOf, runFor } from '../operations.ts';
import { IdParams, jsonSchema, success } from '../schema.ts';

const CancelBodySchema = z.object({ reason: z.string().max(2000).default('') }).strict();

export function approvalRoutes(app: FastifyInstance, ops: Pipeline): void {
  const planId = (p: unknown) => ({ planId: (p as { id: string }).id });
  app.post(
    '/v1/plans/:id/approvals',
    {
      schema: {
        tags: ['approvals'],
        summary: 'Approve or reject a plan, naming the hash you reviewed. The proposer and agents can never review.',
        params: IdParams,
        body: jsonSchema(ReviewBodySchema),
        response: { 201: success(DecisionResultSchema, 'The review was recorded: the plan as it now is and the tally after it.') },
      },
      config: { operation: ['plan.approve', 'plan.reject'] },
    },
    async (request, reply) => {
      const result = await runFor(ops, request, reviewOperationFor(request.body), inputOf(request.body, planId(request.params)));
      return reply.status(201).send(result);
    },
  );
  app.post(
    '/v1/plans/:id/cancel',
    {
      schema: {
        tags: ['plans'],
        summary: 'Cancel a pending plan.',
        params: IdParams,
        body: jsonSchema(CancelBodySchema),
        response: { 200: success(PlanViewSchema, 'The cancelled plan.') },
      },
      config: { operation: 'plan.cancel' },
    },
    async (request) => runFor(ops, request, 'plan.cancel', inputOf(request.body, planId(request.params))),
  );
  app.get(
    '/v1/approvals',
    {
      schema: {
        tags: ['approvals'],
        summary: 'The caller’s review inbox: pending plans they may review and have not yet voted on.',
        querystring: jsonSchema(InboxQuerySchema.extend({ status: z.literal('pending').optional() })),
        response: { 200: success(InboxSchema, 'Plans awaiting the caller’s review.') },
      },
      config: { operation: 'review.inbox' },
    },
    async (request) => {
      const { status: _status, ...rest } = (request.query ?? {}) as Record<string, unknown>;
      return runFor(ops, request, 'review.inbox', rest);
    },
  );
}
