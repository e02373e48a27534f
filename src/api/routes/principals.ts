import type { FastifyInstance } from 'fastify';
import { CreateKeySchema, CreatePrincipalSchema, type PrincipalService } from '../../principals/service.ts';
import {
  CreatedKeySchema,
  CreatedPrincipalSchema,
  KeyListSchema,
  KeyViewSchema,
  PrincipalListSchema,
  PrincipalViewSchema,
  WhoamiSchema,
} from '../../principals/view.ts';
import { principalOf } from '../auth.ts';
import { IdParams, jsonSchema, success } from '../schema.ts';

export function principalRoutes(app: FastifyInstance, principals: PrincipalService): void {
  const id = (p: unknown) => (p as { id: string }).id;
  app.get(
    '/v1/whoami',
    {
      schema: {
        tags: ['principals'],
        summary: 'The identity the credential resolves to.',
        response: { 200: success(WhoamiSchema, 'The caller’s tenant, id, name, kind, groups and how it authenticated.') },
      },
    },
    async (request) => principals.whoami(principalOf(request)),
  );
  app.post(
    '/v1/principals',
    {
      schema: {
        tags: ['principals'],
        summary: 'Create a human or agent principal with groups; answers with its first API key, shown once.',
        body: jsonSchema(CreatePrincipalSchema),
        response: { 201: success(CreatedPrincipalSchema, 'The principal and its first API key (shown this once).') },
      },
    },
    async (request, reply) => reply.status(201).send(await principals.create(principalOf(request), request.body)),
  );
  app.get(
    '/v1/principals',
    {
      schema: {
        tags: ['principals'],
        summary: 'Principals of the caller’s tenant.',
        response: { 200: success(PrincipalListSchema, 'The tenant’s principals.') },
      },
    },
    async (request) => principals.list(principalOf(request)),
  );
  app.post(
    '/v1/principals/:id/disable',
    {
      schema: {
        tags: ['principals'],
        summary: 'Disable a principal: its keys stop working.',
        params: IdParams,
        response: { 200: success(PrincipalViewSchema, 'The disabled principal.') },
      },
    },
    async (request) => principals.setDisabled(principalOf(request), id(request.params), true),
  );
  app.post(
    '/v1/principals/:id/enable',
    {
      schema: {
        tags: ['principals'],
        summary: 'Enable a disabled principal.',
        params: IdParams,
        response: { 200: success(PrincipalViewSchema, 'The enabled principal.') },
      },
    },
    async (request) => principals.setDisabled(principalOf(request), id(request.params), false),
  );
  app.get(
    '/v1/principals/:id/keys',
    {
      schema: {
        tags: ['principals'],
        summary: 'A principal’s keys (never the secrets).',
        params: IdParams,
        response: { 200: success(KeyListSchema, 'The principal’s keys.') },
      },
    },
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
        response: { 201: success(CreatedKeySchema, 'The new key (shown this once).') },
      },
    },
    async (request, reply) => reply.status(201).send(await principals.createKey(principalOf(request), id(request.params), request.body)),
  );
  app.post(
    '/v1/keys/:id/revoke',
    {
      schema: {
        tags: ['principals'],
        summary: 'Revoke an API key.',
        params: IdParams,
        response: { 200: success(KeyViewSchema, 'The revoked key.') },
      },
    },
    async (request) => principals.revokeKey(principalOf(request), id(request.params)),
  );
}
