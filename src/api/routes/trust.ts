import type { FastifyInstance } from 'fastify';
import type { Pipeline } from '../../operations/index.ts';
import { AddTrustedKeySchema, RemoveTrustedKeySchema, TrustedKeyViewSchema, TrustListViewSchema } from '../../trust/index.ts';
import { inputOf, runFor } from '../operations.ts';
import { jsonSchema, success } from '../schema.ts';

const KeyIdParams = {
  type: 'object',
  properties: { keyId: { type: 'string', maxLength: 64 } },
  required: ['keyId'],
} as const;

/** The installation's trust store of tool publisher keys (invariant 13), behind `trust.change`. */
export function trustRoutes(app: FastifyInstance, ops: Pipeline): void {
  app.get(
    '/v1/trust',
    {
      schema: {
        tags: ['trust'],
        summary: 'Trusted tool publisher keys and the K-of-N signature policy per environment.',
        response: { 200: success(TrustListViewSchema, 'The trust store and its policy.') },
      },
      config: { operation: 'trust.list' },
    },
    async (request) => runFor(ops, request, 'trust.list', {}),
  );
  app.post(
    '/v1/trust',
    {
      schema: {
        tags: ['trust'],
        summary: 'Trust a tool publisher key (Ed25519 SPKI PEM). Audited; needs trust.change.',
        body: jsonSchema(AddTrustedKeySchema),
        response: { 201: success(TrustedKeyViewSchema, 'The key is trusted.') },
      },
      config: { operation: 'trust.add' },
    },
    async (request, reply) => reply.status(201).send(await runFor(ops, request, 'trust.add', inputOf(request.body))),
  );
  app.delete(
    '/v1/trust/:keyId',
    {
      schema: {
        tags: ['trust'],
        summary: 'Stop trusting a publisher key: its signatures stop counting at the next propose, execute request and step.',
        params: KeyIdParams,
        body: jsonSchema(RemoveTrustedKeySchema),
        response: { 200: success(TrustedKeyViewSchema, 'The key, no longer trusted.') },
      },
      config: { operation: 'trust.remove' },
    },
    async (request) => runFor(ops, request, 'trust.remove', inputOf(request.body, { keyId: (request.params as { keyId: string }).keyId })),
  );
}
