import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Authenticator } from '../../auth/index.ts';
import { CountersignError } from '../../errors/index.ts';
import {
  type EventLogRead,
  EventsPageSchema,
  ExecutionListSchema,
  ExecutionViewSchema,
  FreezeListSchema,
  FreezeStateSchema,
  IssuedGrantSchema,
  RevokedGrantSchema,
  type StreamOptions,
  streamExecutionEvents,
} from '../../executions/index.ts';
import { ExecuteBodySchema, type ExecuteResult, FreezeBodySchema, type Pipeline } from '../../operations/index.ts';
import type { Principal } from '../../policy/index.ts';
import { parseOrThrow } from '../../validation/index.ts';
import { principalOf } from '../auth.ts';
import { channelOf, inputOf, runFor } from '../operations.ts';
import { errorSchema, IdParams, jsonSchema, success } from '../schema.ts';

const RevokeBodySchema = z.object({ reason: z.string().min(1).max(2000) }).strict();
const EventsQuerySchema = z.object({ after: z.coerce.number().int().min(0).optional() }).strict();
const FROZEN = { 423: errorSchema(423) };
export function executionRoutes(
  app: FastifyInstance,
  ops: Pipeline,
  authenticator: Authenticator,
  options: StreamOptions = { recheckMs: 15_000 },
): void {
  const id = (p: unknown) => (p as { id: string }).id;

  app.post(
    '/v1/plans/:id/grants',
    {
      schema: {
        tags: ['executions'],
        summary: 'Mint a single-use grant for an approved plan (two-phase execution).',
        params: IdParams,
        response: { 201: success(IssuedGrantSchema, 'The grant token (shown this once), its id and expiry.'), ...FROZEN },
      },
      config: { operation: 'grant.issue' },
    },
    async (request, reply) => reply.status(201).send(await runFor(ops, request, 'grant.issue', { planId: id(request.params) })),
  );
  app.post(
    '/v1/plans/:id/executions',
    {
      schema: {
        tags: ['executions'],
        summary: 'Run an approved plan: 201 with the new execution, or 200 with the existing one (a plan runs once).',
        params: IdParams,
        body: jsonSchema(ExecuteBodySchema),
        response: {
          200: success(ExecutionViewSchema, 'The plan already ran: its one execution.'),
          201: success(ExecutionViewSchema, 'The new execution; Location names it.'),
          ...FROZEN,
        },
      },
      config: { operation: ['plan.execute', 'override.use'] },
    },
    async (request, reply) => {
      // A break-glass override is decided as its own operation, override.use.
      const body = parseOrThrow(ExecuteBodySchema, request.body ?? {}, 'body');
      const r = await runFor<ExecuteResult>(
        ops,
        request,
        body.override !== undefined ? 'override.use' : 'plan.execute',
        inputOf(body, { planId: id(request.params) }),
      );
      return reply
        .status(r.created ? 201 : 200)
        .header('location', `/v1/executions/${r.execution.id}`)
        .send(r.execution);
    },
  );
  app.get(
    '/v1/executions',
    {
      schema: {
        tags: ['executions'],
        summary: 'Recent executions of the caller’s tenant.',
        response: { 200: success(ExecutionListSchema, 'Executions, newest first.') },
      },
      config: { operation: 'execution.list' },
    },
    async (request) => runFor(ops, request, 'execution.list', request.query ?? {}),
  );
  app.get(
    '/v1/executions/:id',
    {
      schema: {
        tags: ['executions'],
        summary: 'An execution with its steps and redacted output.',
        params: IdParams,
        response: { 200: success(ExecutionViewSchema, 'The execution.') },
      },
      config: { operation: 'execution.get' },
    },
    async (request) => runFor(ops, request, 'execution.get', { executionId: id(request.params) }),
  );
  app.get(
    '/v1/executions/:id/events',
    {
      schema: {
        tags: ['executions'],
        summary: 'Execution events. With Accept: text/event-stream, a live Server-Sent Events stream resumable with Last-Event-ID.',
        params: IdParams,
        querystring: jsonSchema(EventsQuerySchema),
        response: {
          200: {
            description:
              'Events after `after` (or Last-Event-ID). As JSON by default; as a Server-Sent Events stream (`id`, `event`, `data`) with Accept: text/event-stream.',
            content: {
              'application/json': { schema: jsonSchema(EventsPageSchema, 'output') },
              'text/event-stream': { schema: { type: 'string' } },
            },
          },
        },
      },
      config: { operation: 'execution.events' },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const execId = id(request.params);
      const q = parseOrThrow(EventsQuerySchema, request.query, 'query');
      const lastId = Number(request.headers['last-event-id'] ?? q.after ?? 0);
      const after = Number.isInteger(lastId) && lastId >= 0 ? lastId : 0;
      // Authorized per execution and tenant (invariant 16) on every read of the log.
      const read = (who: Principal, cursor: number) =>
        ops.run<EventLogRead>('execution.events', who, { executionId: execId, after: cursor }, channelOf(request));
      const first = await read(principal, after);
      if (!String(request.headers.accept ?? '').includes('text/event-stream')) {
        return { status: first.status, events: first.events };
      }
      // Invariant 16 holds for the whole subscription, not only its start: a revoked key, a disabled
      // principal or a withdrawn permission ends the stream at the next re-check.
      const recheck = async () => {
        const again = await authenticator.authenticate(request.headers.authorization);
        if (again.id !== principal.id || again.tenantId !== principal.tenantId)
          throw new CountersignError('UNAUTHENTICATED', 'the credential changed');
        await read(again, after);
      };
      return streamExecutionEvents(reply, (cursor) => read(principal, cursor), after, recheck, { ...options, executionId: execId });
    },
  );
  app.post(
    '/v1/executions/:id/revoke-grant',
    {
      schema: {
        tags: ['executions'],
        summary: 'Revoke the execution’s grant: the executor stops before its next step.',
        params: IdParams,
        body: jsonSchema(RevokeBodySchema),
        response: { 200: success(RevokedGrantSchema, 'The grant is revoked.') },
      },
      config: { operation: 'grant.revoke' },
    },
    async (request) => runFor(ops, request, 'grant.revoke', inputOf(request.body, { executionId: id(request.params) })),
  );
  app.post(
    '/v1/freeze',
    {
      schema: {
        tags: ['executions'],
        summary: 'Kill switch: freeze an environment (or the whole tenant without one).',
        body: jsonSchema(FreezeBodySchema),
        response: { 200: success(FreezeStateSchema, 'The scope is frozen.') },
      },
      config: { operation: 'environment.freeze' },
    },
    async (request) => runFor(ops, request, 'environment.freeze', inputOf(request.body)),
  );
  app.post(
    '/v1/unfreeze',
    {
      schema: {
        tags: ['executions'],
        summary: 'Lift a freeze.',
        body: jsonSchema(FreezeBodySchema.partial({ reason: true })),
        response: { 200: success(FreezeStateSchema, 'The scope is no longer frozen.') },
      },
      config: { operation: 'environment.unfreeze' },
    },
    async (request) => runFor(ops, request, 'environment.unfreeze', inputOf(request.body)),
  );
  app.get(
    '/v1/freezes',
    {
      schema: { tags: ['executions'], summary: 'Active kill switches.', response: { 200: success(FreezeListSchema, 'Active freezes.') } },
      config: { operation: 'freeze.list' },
    },
    async (request) => runFor(ops, request, 'freeze.list', {}),
  );
}
