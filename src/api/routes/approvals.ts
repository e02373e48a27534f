import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ApprovalBodySchema, type ApprovalService, InboxQuerySchema } from '../../approvals/service.ts';
import { parseOrThrow } from '../../plans/service.ts';
import { DecisionResultSchema, InboxSchema, PlanViewSchema } from '../../plans/view.ts';
import { principalOf } from '../auth.ts';
import { IdParams, jsonSchema, success } from '../schema.ts';

const CancelBodySchema = z.object({ reason: z.string().max(2000).default('') }).strict();

export function approvalRoutes(app: FastifyInstance, approvals: ApprovalService): void {
  app.post(
    '/v1/plans/:id/approvals',
    {
      schema: {
        tags: ['approvals'],
        summary: 'Approve or reject a plan, naming the hash you reviewed. The proposer and agents can never review.',
        params: IdParams,
        body: jsonSchema(ApprovalBodySchema),
        response: { 201: success(DecisionResultSchema, 'The review was recorded: the plan as it now is and the tally after it.') },
      },
    },
    async (request, reply) => {
      const channel = request.headers['x-countersign-client'] === 'cli' ? 'cli' : 'api';
      const result = await approvals.decide(principalOf(request), (request.params as { id: string }).id, request.body, channel);
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
    },
    async (request) => {
      const body = parseOrThrow(CancelBodySchema, request.body ?? {}, 'body');
      return approvals.cancel(principalOf(request), (request.params as { id: string }).id, body.reason);
    },
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
    },
    async (request) => {
      const { status: _status, ...rest } = (request.query ?? {}) as Record<string, unknown>;
      return approvals.inbox(principalOf(request), rest);
    },
  );
}
