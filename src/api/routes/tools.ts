import type { FastifyInstance } from 'fastify';
import type { Pipeline } from '../../operations/index.ts';
import { ToolCatalogSchema } from '../../tools/index.ts';
import { runFor } from '../operations.ts';
import { success } from '../schema.ts';

export function toolRoutes(app: FastifyInstance, ops: Pipeline): void {
  app.get(
    '/v1/tools',
    {
      schema: {
        tags: ['tools'],
        summary:
          'The tenant’s environments and the loaded tool manifests with each action’s input schema. Decided as plan.propose on the tenant.',
        response: { 200: success(ToolCatalogSchema, 'Environments and tools.') },
      },
      config: { operation: 'tool.catalog' },
    },
    async (request) => runFor(ops, request, 'tool.catalog', {}),
  );
}
