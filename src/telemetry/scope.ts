import { AsyncLocalStorage } from 'node:async_hooks';
import { NOOP_SPAN, type SpanAttributes, type TraceSpan, type Tracing } from './tracing.ts';

/**
 * What the work in progress belongs to: the request (its id, for logs and audit details) and
 * the span its nested work hangs under. Carried by AsyncLocalStorage so the pipeline, the store
 * and the executor's steps need no extra parameter to be traced.
 */
export interface TelemetryScope {
  tracing: Tracing;
  span: TraceSpan;
  requestId: string | null;
}

const scopes = new AsyncLocalStorage<TelemetryScope>();

export function runInTelemetryScope<T>(scope: TelemetryScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

/** The id of the API request this work is done for; null outside a request. */
export function currentRequestId(): string | null {
  return scopes.getStore()?.requestId ?? null;
}

/** The innermost span of the work in progress (a no-op span when not tracing). */
export function currentSpan(): TraceSpan {
  return scopes.getStore()?.span ?? NOOP_SPAN;
}

/**
 * Runs `fn` in a span under the current one. Without a scope (host work, tracing off) and no
 * `tracing` given, `fn` runs as is: one lookup is all tracing costs when it is off. A throw marks
 * the span failed and passes on.
 */
export async function inSpan<T>(
  name: string,
  attributes: SpanAttributes,
  fn: (span: TraceSpan) => Promise<T>,
  options: { tracing?: Tracing; links?: readonly (string | null | undefined)[] } = {},
): Promise<T> {
  const outer = scopes.getStore();
  const tracing = options.tracing ?? outer?.tracing;
  if (!tracing?.enabled) return fn(NOOP_SPAN);
  const span = tracing.startSpan(name, { attributes, parent: options.tracing ? null : outer?.span, links: options.links });
  try {
    return await scopes.run({ tracing, span, requestId: outer?.requestId ?? null }, () => fn(span));
  } catch (err) {
    span.fail(err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * A span under the current one around work whose inner calls need no spans of their own (a
 * store transaction). The scope is left as it is: the span only times the work. Off, it costs
 * one lookup.
 */
export async function inLeafSpan<T>(name: string, attributes: SpanAttributes, fn: () => Promise<T>): Promise<T> {
  const outer = scopes.getStore();
  if (!outer?.tracing.enabled) return fn();
  const span = outer.tracing.startSpan(name, { attributes, parent: outer.span });
  try {
    return await fn();
  } catch (err) {
    span.fail(err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * A stored record that carries the trace context of the request that created it (a plan's
 * proposal) — or that holds such a plan — linked from the current span: approvals and
 * executions point back at it.
 */
export function linkToOrigin(record: unknown, relation: string): void {
  const r = record as { traceContext?: unknown; plan?: { traceContext?: unknown } } | null;
  const traceContext = r?.traceContext ?? r?.plan?.traceContext;
  if (typeof traceContext === 'string') currentSpan().addLink(traceContext, { 'countersign.link': relation });
}
