import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NOOP_SPAN, parseTraceParent, runInTelemetryScope, type TraceSpan, type Tracing } from '../telemetry/index.ts';

const REQUEST_ID_HEADER = 'x-request-id';

/**
 * Request ids and traces for every request (issue 16). The id (adopted from a safe
 * `X-Request-Id`, else fresh: see acceptRequestId) is on every log line of the request, in the
 * `X-Request-Id` answer header, in every error body, in the audit entries of the operations the
 * request runs and on its span. The span continues a caller's W3C `traceparent`, and the
 * pipeline's operation spans hang under it through the telemetry scope.
 */
export function registerRequestTelemetry(app: FastifyInstance, tracing: Tracing): void {
  const spans = new WeakMap<FastifyRequest, TraceSpan>();
  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    if (!tracing.enabled) return;
    const route = request.routeOptions.url;
    const span = tracing.startSpan(route ? `${request.method} ${route}` : request.method, {
      kind: 'server',
      parent: parseTraceParent(request.headers.traceparent),
      attributes: {
        'http.request.method': request.method,
        'http.route': route,
        'countersign.request_id': request.id,
      },
    });
    spans.set(request, span);
    const traceId = span.traceparent()?.split('-')[1];
    if (traceId) request.log = request.log.child({ traceId });
  });
  // After the body is parsed (its stream events would lose an async context set any earlier):
  // the handler and everything it awaits run in the request's telemetry scope.
  app.addHook('preHandler', (request, _reply, done) => {
    runInTelemetryScope({ tracing, span: spans.get(request) ?? NOOP_SPAN, requestId: request.id }, done);
  });
  app.addHook('onSend', async (request, reply: FastifyReply, payload) => {
    // Again here: an onRequest hook that refused the request ran before the one above.
    reply.header(REQUEST_ID_HEADER, request.id);
    return withRequestId(request.id, reply.statusCode, payload);
  });
  app.addHook('onResponse', async (request, reply) => {
    const span = spans.get(request);
    if (!span) return;
    span.setAttributes({ 'http.response.status_code': reply.statusCode });
    if (reply.statusCode >= 500) span.fail({ code: 'INTERNAL' });
    span.end();
  });
}

/** Every error body of the API (`{"error":{…}}`) names the request id, whoever wrote it. */
function withRequestId(requestId: string, status: number, payload: unknown): unknown {
  if (status < 400 || typeof payload !== 'string' || !payload.startsWith('{"error":{')) return payload;
  try {
    const body = JSON.parse(payload) as { error: Record<string, unknown> };
    body.error.requestId = requestId;
    return JSON.stringify(body);
  } catch {
    return payload;
  }
}
