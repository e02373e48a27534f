import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors/index.ts';

/**
 * JSON Schema of a zod schema for the OpenAPI document (3.1, whose schemas are JSON Schema
 * 2020-12, zod's own target). zod stays the validator: bodies and queries as the caller may send
 * them (`input`), answers as the service returns them (`output`, closed objects).
 */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const s = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

/** A success answer of a route: the JSON Schema of the view a service returns, with its meaning. */
export function success(schema: z.ZodType, description: string): Record<string, unknown> {
  return { description, ...jsonSchema(schema, 'output') };
}

/** What each error status means in this API: its documented description. */
const ERROR_MEANING: Record<number, string> = {
  400: 'The request is malformed or outside a schema',
  401: 'No valid credential (one uniform answer; the reason is audited)',
  403: 'Policy, a grant, an override or a trust check refuses the action',
  404: 'No such resource in the caller’s tenant',
  405: 'The path exists with other methods',
  408: 'The request took too long to arrive',
  409: 'The resource is not in a state that allows this, or changed concurrently',
  413: 'The body is larger than the configured limit',
  414: 'The URL is too long',
  415: 'The body is not application/json',
  423: 'A kill switch freezes the tenant or environment',
  429: 'Over the request budget; see Retry-After',
  431: 'The request headers are too large',
  500: 'An unexpected error; details are in the server log, never in the answer',
  503: 'A dependency (database, audit log, policy engine, sandbox) is unavailable, so nothing was done',
};

/** The codes an answer with this status can carry: every code of the table with that status. */
export function codesForStatus(status: number): ErrorCode[] {
  return (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => ERROR_CODES[c].status === status);
}

/** `{"error": {"code", "message", "details?"}}`, with `code` limited to the codes of one status. */
export function errorSchema(status: number): Record<string, unknown> {
  const codes = codesForStatus(status);
  return {
    description: `${ERROR_MEANING[status] ?? 'Error'}: ${codes.join(', ')}.`,
    type: 'object',
    properties: {
      error: {
        type: 'object',
        properties: {
          code: { type: 'string', enum: codes },
          message: { type: 'string' },
          details: { type: 'object', additionalProperties: true },
          requestId: { type: 'string', description: 'The request id (also the X-Request-Id answer header), to find its log lines.' },
        },
        required: ['code', 'message'],
        additionalProperties: false,
      },
    },
    required: ['error'],
    additionalProperties: false,
  };
}

/**
 * The error answers an operation documents, by what it is: every authenticated route can be
 * refused (400 query/params, 401, 403, 404, 429) or fail safely (500, 503); a route with a body
 * adds 413/415; a change adds 409; running a plan adds 423 (frozen).
 */
export function errorStatuses(route: { method: string; public: boolean; hasBody: boolean; extra?: readonly number[] }): number[] {
  const statuses = new Set<number>(route.public ? [500] : [400, 401, 403, 404, 429, 500, 503]);
  if (route.hasBody) for (const s of [400, 413, 415]) statuses.add(s);
  if (!route.public && route.method !== 'GET') statuses.add(409);
  for (const s of route.extra ?? []) statuses.add(s);
  return [...statuses].sort((a, b) => a - b);
}

export const IdParams = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 64 } },
  required: ['id'],
} as const;
