import type { FastifyInstance } from 'fastify';
import { type AuditService, ListAuditQuerySchema } from '../../audit/service.ts';
import { AuditPageSchema } from '../../audit/view.ts';
import { principalOf } from '../auth.ts';
import { jsonSchema, success } from '../schema.ts';

export function auditRoutes(app: FastifyInstance, audit: AuditService): void {
  app.get(
    '/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Audit entries of the caller’s tenant after a sequence number (`after`), ascending. `next` is the cursor.',
        querystring: jsonSchema(ListAuditQuerySchema),
        response: { 200: success(AuditPageSchema, 'Audit entries with their chain hashes.') },
      },
    },
    async (request) => audit.list(principalOf(request), request.query),
  );
}
