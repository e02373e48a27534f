import type { FastifyError, FastifyInstance } from 'fastify';
import { CountersignError, type ErrorCode } from '../errors/index.ts';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/** Fastify's own client errors, mapped to our stable codes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
};

export function toErrorResponse(err: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (err instanceof CountersignError) {
    const safeDetails = err.code === 'UNAUTHENTICATED' ? undefined : err.details;
    const body: ErrorBody = { error: { code: err.code, message: err.message, ...(safeDetails ? { details: safeDetails } : {}) } };
    return { status: err.status, body, internal: err.status >= 500 && err.code === 'INTERNAL' };
  }
  const fe = err as Partial<FastifyError> & { statusCode?: number };
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) {
    const e = new CountersignError(mapped, mapped === 'INVALID_JSON' ? 'the body is not valid JSON' : (fe.message ?? mapped));
    return { status: e.status, body: { error: { code: e.code, message: e.message } }, internal: false };
  }
  if (err instanceof SyntaxError || (fe.statusCode === 400 && /JSON/i.test(fe.message ?? ''))) {
    return { status: 400, body: { error: { code: 'INVALID_JSON', message: 'the body is not valid JSON' } }, internal: false };
  }
  if (fe.statusCode === 429) {
    return { status: 429, body: { error: { code: 'RATE_LIMITED', message: fe.message ?? 'rate limit exceeded' } }, internal: false };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: { error: { code: 'BAD_REQUEST', message: fe.message ?? 'bad request' } }, internal: false };
  }
  // Never echo an unexpected error's message: it may carry internals (CONVENTIONS: no 500 echo).
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error; see the server log' } }, internal: true };
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const { status, body, internal } = toErrorResponse(err);
    if (internal || status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: body.error.code }, 'request refused');
    if (status === 429 && reply.getHeader('retry-after') === undefined) {
      const seconds = err instanceof CountersignError ? Number(err.details?.retryAfterSeconds ?? 60) : 60;
      reply.header('retry-after', String(seconds));
    }
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    return reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } });
  });
}
