import type { FastifyInstance } from 'fastify';
import { AddTrustedKeySchema, RemoveTrustedKeySchema, type TrustService } from '../../trust/index.ts';
import { TrustedKeyViewSchema, TrustListViewSchema } from '../../trust/view.ts';
import { principalOf } from '../auth.ts';
import { jsonSchema, success } from '../schema.ts';

const KeyIdParams = {
  type: 'object',
  properties: { keyId: { type: 'string', maxLength: 64 } },
  required: ['keyId'],
} as const;

/** The installation's trust store of tool publisher keys (invariant 13), behind `trust.change`. */
export function trustRoutes(app: FastifyInstance, trust: TrustService): void {
  app.get(
    '/v1/trust',
    {
      schema: {
        tags: ['trust'],
        summary: 'Trusted tool publisher keys and the K-of-N signature policy per environment.',
        response: { 200: success(TrustListViewSchema, 'The trust store and its policy.') },
      },
    },
    async (request) => trust.list(principalOf(request)),
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
    },
    async (request, reply) => reply.status(201).send(await trust.add(principalOf(request), request.body)),
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
    },
    async (request) => trust.remove(principalOf(request), (request.params as { keyId: string }).keyId, request.body),
  );
}
