import type { FastifyInstance } from 'fastify';
import { AuditPageSchema } from '../../audit/index.ts';
import { ListAuditQuerySchema, type Pipeline } from '../../operations/index.ts';
import { runFor } from '../operations.ts';
import { jsonSchema, success } from '../schema.ts';

export function auditRoutes(app: FastifyInstance, ops: Pipeline): void {
  app.get(
    '/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Audit entries of the caller’s tenant after a sequence number (`after`), ascending. `next` is the cursor.',
        querystring: jsonSchema(ListAuditQuerySchema),
        response: { 200: success(AuditPageSchema, 'Audit entries with their chain hashes.') },
      },
      config: { operation: 'audit.list' },
    },
    async (request) => runFor(ops, request, 'audit.list', request.query ?? {}),
  );
}
