import type { FastifyInstance } from 'fastify';
import { ListAuditQuerySchema, type Pipeline } from '../../operations/index.ts';
import { runFor } from '../operations.ts';
import { jsonSchema } from '../schema.ts';

export function auditRoutes(app: FastifyInstance, ops: Pipeline): void {
  app.get(
    '/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Audit entries of the caller’s tenant after a sequence number (`after`), ascending. `next` is the cursor.',
        querystring: jsonSchema(ListAuditQuerySchema),
      },
      config: { operation: 'audit.list' },
    },
    async (request) => runFor(ops, request, 'audit.list', request.query ?? {}),
  );
}
