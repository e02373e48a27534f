import type { FastifyInstance } from 'fastify';
import { CreateKeySchema, CreatePrincipalSchema, type Pipeline } from '../../operations/index.ts';
import {
  CreatedKeySchema,
  CreatedPrincipalSchema,
  KeyListSchema,
  KeyViewSchema,
  PrincipalListSchema,
  PrincipalViewSchema,
  WhoamiSchema,
} from '../../principals/index.ts';
import { principalOf } from '../auth.ts';
import { inputOf, runFor } from '../operations.ts';
import { IdParams, jsonSchema, success } from '../schema.ts';

export function principalRoutes(app: FastifyInstance, ops: Pipeline): void {
  const principalId = (p: unknown) => ({ principalId: (p as { id: string }).id });
  app.get(
    '/v1/whoami',
    {
      schema: {
        tags: ['principals'],
        summary: 'The identity the credential resolves to.',
        response: { 200: success(WhoamiSchema, 'The caller’s tenant, id, name, kind, groups and how it authenticated.') },
      },
      config: { operation: null },
    },
    async (request) => principalOf(request),
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
      config: { operation: 'principal.create' },
    },
    async (request, reply) => reply.status(201).send(await runFor(ops, request, 'principal.create', inputOf(request.body))),
  );
  app.get(
    '/v1/principals',
    {
      schema: {
        tags: ['principals'],
        summary: 'Principals of the caller’s tenant.',
        response: { 200: success(PrincipalListSchema, 'The tenant’s principals.') },
      },
      config: { operation: 'principal.list' },
    },
    async (request) => runFor(ops, request, 'principal.list', {}),
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
      config: { operation: 'principal.disable' },
    },
    async (request) => runFor(ops, request, 'principal.disable', principalId(request.params)),
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
      config: { operation: 'principal.enable' },
    },
    async (request) => runFor(ops, request, 'principal.enable', principalId(request.params)),
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
      config: { operation: 'key.list' },
    },
    async (request) => runFor(ops, request, 'key.list', principalId(request.params)),
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
      config: { operation: 'key.create' },
    },
    async (request, reply) =>
      reply.status(201).send(await runFor(ops, request, 'key.create', inputOf(request.body, principalId(request.params)))),
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
      config: { operation: 'key.revoke' },
    },
    async (request) => runFor(ops, request, 'key.revoke', { keyId: (request.params as { id: string }).id }),
  );
}
