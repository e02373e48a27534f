import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Pipeline } from '../../operations/index.ts';
import {
  IssuedOverrideSchema,
  IssueOverrideSchema,
  OverrideListSchema,
  OverrideViewSchema,
  RevokeOverrideSchema,
} from '../../overrides/index.ts';
import { inputOf, runFor } from '../operations.ts';
import { IdParams, jsonSchema, success } from '../schema.ts';

const ListQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();

/**
 * Break-glass overrides (invariant 14). Using one is `POST /v1/plans/:id/executions` with
 * `{override}`; these routes issue, revoke and list them.
 */
export function overrideRoutes(app: FastifyInstance, ops: Pipeline): void {
  app.post(
    '/v1/overrides',
    {
      schema: {
        tags: ['overrides'],
        summary:
          'Issue a break-glass override: a signed document letting plans within its scope run without approvals, once, for at most an hour. Needs override.issue.',
        body: jsonSchema(IssueOverrideSchema),
        response: { 201: success(IssuedOverrideSchema, 'The override and its signed document.') },
      },
      config: { operation: 'override.issue' },
    },
    async (request, reply) => reply.status(201).send(await runFor(ops, request, 'override.issue', inputOf(request.body))),
  );
  app.post(
    '/v1/overrides/:id/revoke',
    {
      schema: {
        tags: ['overrides'],
        summary: 'Revoke an override: unused, it can no longer be accepted; in use, the executor stops before the next step.',
        params: IdParams,
        body: jsonSchema(RevokeOverrideSchema),
        response: { 200: success(OverrideViewSchema, 'The revoked override.') },
      },
      config: { operation: 'override.revoke' },
    },
    async (request) =>
      runFor(ops, request, 'override.revoke', inputOf(request.body, { overrideId: (request.params as { id: string }).id })),
  );
  app.get(
    '/v1/overrides',
    {
      schema: {
        tags: ['overrides'],
        summary: 'Overrides of the caller’s tenant, newest first.',
        querystring: jsonSchema(ListQuerySchema),
        response: { 200: success(OverrideListSchema, 'Overrides with their status.') },
      },
      config: { operation: 'override.list' },
    },
    async (request) => runFor(ops, request, 'override.list', request.query ?? {}),
  );
}
