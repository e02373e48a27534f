import type { FastifyInstance } from 'fastify';
import { CreateKeySchema, CreatePrincipalSchema, type PrincipalService } from '../../principals/service.ts';
import { principalOf } from '../auth.ts';
import { IdParams, jsonSchema } from '../schema.ts';

export function principalRoutes(app: FastifyInstance, principals: PrincipalService): void {
  const id = (p: unknown) => (p as { id: string }).id;
  app.get('/v1/whoami', { schema: { tags: ['principals'], summary: 'The identity the credential resolves to.' } }, async (request) =>
    principals.whoami(principalOf(request)),
  );
  app.post(
    '/v1/principals',
    {
      schema: {
        tags: ['principals'],
        summary: 'Create a human or agent principal with groups; answers with its first API key, shown once.',
        body: jsonSchema(CreatePrincipalSchema),
      },
    },
    async (request, reply) => reply.status(201).send(await principals.create(principalOf(request), request.body)),
  );
  app.get('/v1/principals', { schema: { tags: ['principals'], summary: 'Principals of the caller’s tenant.' } }, async (request) =>
    principals.list(principalOf(request)),
  );
  app.post(
    '/v1/principals/:id/disable',
    { schema: { tags: ['principals'], summary: 'Disable a principal: its keys stop working.', params: IdParams } },
    async (request) => principals.setDisabled(principalOf(request), id(request.params), true),
  );
  app.post(
    '/v1/principals/:id/enable',
    { schema: { tags: ['principals'], summary: 'Enable a disabled principal.', params: IdParams } },
    async (request) => principals.setDisabled(principalOf(request), id(request.params), false),
  );
  app.get(
    '/v1/principals/:id/keys',
    { schema: { tags: ['principals'], summary: 'A principal’s keys (never the secrets).', params: IdParams } },
    async (request) => principals.listKeys(principalOf(request), id(request.params)),
  );
  app.post(
    '/v1/principals/:id/keys',
    {
      schema: {
        tags: ['principals'],
        summary: 'Create an API key for a principal; the key is shown once.',
        params: IdParams,
        body: jsonSchema(CreateKeySchema),
      },
    },
    async (request, reply) => reply.status(201).send(await principals.createKey(principalOf(request), id(request.params), request.body)),
  );
  app.post('/v1/keys/:id/revoke', { schema: { tags: ['principals'], summary: 'Revoke an API key.', params: IdParams } }, async (request) =>
    principals.revokeKey(principalOf(request), id(request.params)),
  );
}
