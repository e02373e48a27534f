import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CountersignError, ERROR_CODES, type ErrorCode } from '../errors/index.ts';
import { isStoreUnavailable } from '../store/index.ts';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/** The one error shape of the API. Without a message, the code's documented summary. */
export function problem(code: ErrorCode, message: string = ERROR_CODES[code].summary): ErrorBody {
  return { error: { code, message } };
}

/**
 * Fastify's own errors, mapped to our stable codes with fixed messages: Fastify's messages quote
 * the URL, the content type or the JSON parser's complaint, and an error answer never echoes the
 * request (it could be reflected into a page or a log viewer).
 */
const FASTIFY_CODES: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['BODY_TOO_LARGE', 'the body is larger than the server accepts'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['BAD_REQUEST', 'the Content-Length does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['INVALID_JSON', 'the body is not valid JSON'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['INVALID_JSON', 'the body is not valid JSON'],
  FST_ERR_VALIDATION: ['VALIDATION_FAILED', 'the request is outside its schema'],
  FST_ERR_BAD_URL: ['BAD_REQUEST', 'the URL is not valid'],
  FST_ERR_MAX_PARAM_LENGTH: ['URI_TOO_LONG', 'a path segment is longer than the server accepts'],
};

/** A client error status Fastify or Node chose, as the code documented for it. */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  413: 'BODY_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
};

const INTERNAL: ErrorBody = problem('INTERNAL', 'internal error; see the server log');

export function toErrorResponse(err: unknown): { status: number; body: ErrorBody; internal: boolean } {
  // A database restart or failover is a 503 the client may retry, not an internal error.
  if ((!(err instanceof CountersignError) || err.code === 'INTERNAL') && isStoreUnavailable(err)) return answer('STORE_UNAVAILABLE');
  if (err instanceof CountersignError) {
    const safeDetails = err.code === 'UNAUTHENTICATED' ? undefined : err.details;
    const body: ErrorBody = { error: { code: err.code, message: err.message, ...(safeDetails ? { details: safeDetails } : {}) } };
    return { status: err.status, body, internal: err.status >= 500 && err.code === 'INTERNAL' };
  }
  const fe = err as Partial<FastifyError> & { statusCode?: number };
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return answer(mapped[0], mapped[1]);
  // The JSON parser's own errors (and onProtoPoisoning's) are SyntaxErrors.
  if (err instanceof SyntaxError) return answer('INVALID_JSON', 'the body is not valid JSON');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Any other client error keeps a documented status and code; its message is the code's summary.
    return answer(CODE_BY_STATUS[fe.statusCode] ?? 'BAD_REQUEST');
  }
  // Never echo an unexpected error's message: it may carry internals (CONVENTIONS: no 500 echo).
  return { status: 500, body: INTERNAL, internal: true };
}

function answer(code: ErrorCode, message?: string): { status: number; body: ErrorBody; internal: boolean } {
  return { status: ERROR_CODES[code].status, body: problem(code, message), internal: false };
}

/** The longest URL (path and query) the API reads; longer ones are refused before any other work. */
export const MAX_URL_BYTES = 8192;

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (a request line or headers over
 * `maxHeaderSize`, a malformed request, a timeout), answered in the API's shape on the raw socket.
 * Node reports a request line and headers over the limit alike (HPE_HEADER_OVERFLOW): when the
 * packet that overflowed is visibly a request line longer than MAX_URL_BYTES, it is a 414.
 */
export function answerClientError(err: Error & { code?: string; rawPacket?: unknown }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let code: ErrorCode = 'BAD_REQUEST';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') code = 'REQUEST_TIMEOUT';
  else if (err.code === 'HPE_HEADER_OVERFLOW') code = requestLineOverflows(err.rawPacket) ? 'URI_TOO_LONG' : 'HEADERS_TOO_LARGE';
  const status = ERROR_CODES[code].status;
  const body = JSON.stringify(problem(code));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

function requestLineOverflows(raw: unknown): boolean {
  if (!Buffer.isBuffer(raw) || !/^[A-Z]{3,10} \//.test(raw.toString('latin1', 0, 12))) return false;
  const eol = raw.indexOf('\r\n');
  return eol === -1 || eol > MAX_URL_BYTES;
}

/** Framework errors raised while routing (bad percent-encoding, an overlong path segment). */
export function answerFrameworkError(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toErrorResponse(err);
  void reply.status(status).send(body);
}

/** A route's URL pattern as a matcher of concrete paths, to tell a wrong method (405) from no route (404). */
function pathMatcher(url: string): RegExp {
  const pattern = url
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${pattern}$`);
}

export function registerErrorHandling(app: FastifyInstance): void {
  const routes: { match: RegExp; methods: string[] }[] = [];
  app.addHook('onRoute', (route) => {
    routes.push({ match: pathMatcher(route.url), methods: [route.method].flat().map(String) });
  });
  // Refuse an overlong URL first, before a key lookup or an audit write is spent on it.
  app.addHook('onRequest', async (request) => {
    if (request.url.length > MAX_URL_BYTES) throw new CountersignError('URI_TOO_LONG', 'the URL is longer than the server accepts');
  });

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
    const path = request.url.split('?')[0] ?? '';
    const allowed = [...new Set(routes.filter((r) => r.match.test(path)).flatMap((r) => r.methods))].sort();
    if (allowed.length > 0) {
      return reply
        .status(405)
        .header('allow', allowed.join(', '))
        .send(problem('METHOD_NOT_ALLOWED', 'this path does not take that method'));
    }
    return reply.status(404).send(problem('NOT_FOUND', 'no such route'));
  });
}
