import type { FastifyInstance } from 'fastify';
import type { Pipeline } from '../../operations/index.ts';
import { runFor } from '../operations.ts';

export function toolRoutes(app: FastifyInstance, ops: Pipeline): void {
  app.get(
    '/v1/tools',
    {
      schema: {
        tags: ['tools'],
        summary:
          'The tenant’s environments and the loaded tool manifests with each action’s input schema. Decided as plan.propose on the tenant.',
      },
      config: { operation: 'tool.catalog' },
    },
    async (request) => runFor(ops, request, 'tool.catalog', {}),
  );
}
