import type { FastifyInstance } from 'fastify';
import type { ToolCatalogService } from '../../tools/catalog.ts';
import { ToolCatalogSchema } from '../../tools/view.ts';
import { principalOf } from '../auth.ts';
import { success } from '../schema.ts';

export function toolRoutes(app: FastifyInstance, catalog: ToolCatalogService): void {
  app.get(
    '/v1/tools',
    {
      schema: {
        tags: ['tools'],
        summary:
          'The tenant’s environments and the loaded tool manifests with each action’s input schema. Decided as plan.propose on the tenant.',
        response: { 200: success(ToolCatalogSchema, 'Environments and tools.') },
      },
    },
    async (request) => catalog.catalog(principalOf(request)),
  );
}
