import type { FastifyRequest } from 'fastify';
import { CountersignError } from '../errors/index.ts';
import type { Channel, Pipeline } from '../operations/index.ts';
import { principalOf } from './auth.ts';

/**
 * The interface a request came through, for the audit trail and a plan's source: the CLI and the
 * stdio MCP server label their requests; everything else is the API. A label grants nothing —
 * neither is more trusted than the API (an API caller may declare a plan's source too).
 */
export function channelOf(request: FastifyRequest): Channel {
  const label = request.headers['x-countersign-client'];
  return label === 'cli' || label === 'mcp' ? label : 'api';
}

/**
 * An operation's input from a route: the body's fields with the path's ids, the path winning.
 * A body that is not a JSON object is refused here, before anything else looks at it.
 */
export function inputOf(body: unknown, path: Record<string, string> = {}): Record<string, unknown> {
  if (body === undefined || body === null) return { ...path };
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new CountersignError('VALIDATION_FAILED', 'body: expected a JSON object', { details: { field: 'body' } });
  }
  return { ...(body as Record<string, unknown>), ...path };
}

/**
 * Runs the named operation for the request's authenticated principal: routes are a thin
 * mapping onto the operations table and add no behaviour of their own.
 */
export function runFor<T = unknown>(ops: Pipeline, request: FastifyRequest, name: string, input: unknown): Promise<T> {
  return ops.run<T>(name, principalOf(request), input, channelOf(request));
}
