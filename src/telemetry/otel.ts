// Loaded only when tracing is on (see startTracing): the one file that imports OpenTelemetry.
import { type Link, ROOT_CONTEXT, type Span, type SpanContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { TracingConfig } from './config.ts';
import { formatTraceParent, parseTraceParent, type TraceParent } from './traceparent.ts';
import type { SpanAttributes, StartSpanOptions, TraceSpan, Tracing, TracingIdentity } from './tracing.ts';

/** How long a stop waits for the last export before giving up on it. */
const SHUTDOWN_MS = 5_000;

function remoteContext(p: TraceParent): SpanContext {
  return { traceId: p.traceId, spanId: p.spanId, traceFlags: p.flags & 1, isRemote: true };
}

function clean(attributes: SpanAttributes | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(attributes ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

class OtelSpan implements TraceSpan {
  constructor(readonly span: Span) {}

  setAttributes(attributes: SpanAttributes): void {
    this.span.setAttributes(clean(attributes));
  }

  addLink(traceparent: string | null | undefined, attributes?: SpanAttributes): void {
    const p = parseTraceParent(traceparent);
    if (p) this.span.addLink({ context: remoteContext(p), attributes: clean(attributes) } satisfies Link);
  }

  fail(err: unknown): void {
    const code = (err as { code?: unknown } | null)?.code;
    const stable = typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(code) ? code : 'INTERNAL';
    this.span.setAttribute('countersign.error.code', stable);
    // The code only: an error's message may quote input, and spans leave the host.
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: stable });
  }

  end(): void {
    this.span.end();
  }

  traceparent(): string {
    const c = this.span.spanContext();
    return formatTraceParent({ traceId: c.traceId, spanId: c.spanId, flags: c.traceFlags });
  }
}

export function openTelemetryTracing(config: TracingConfig, identity: TracingIdentity): Tracing {
  const exporter = new OTLPTraceExporter({ url: config.endpoint, headers: { ...config.headers }, timeoutMillis: SHUTDOWN_MS });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: config.serviceName,
      [ATTR_SERVICE_VERSION]: identity.version,
      'service.instance.role': identity.role,
    }),
    // A caller's sampled trace is followed; a new trace is kept at the configured ratio.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.samplingRatio) }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000, maxExportBatchSize: 512 })],
  });
  // This provider's own tracer: never the global one (two servers in a test process stay apart).
  const tracer = provider.getTracer('countersign', identity.version);
  let stopped: Promise<void> | null = null;
  return {
    enabled: true,
    startSpan(name: string, options: StartSpanOptions = {}): TraceSpan {
      const parent = options.parent;
      const ctx =
        parent instanceof OtelSpan
          ? trace.setSpan(ROOT_CONTEXT, parent.span)
          : parent && 'traceId' in parent
            ? trace.setSpanContext(ROOT_CONTEXT, remoteContext(parent))
            : ROOT_CONTEXT;
      const links = (options.links ?? []).map(parseTraceParent).filter((p): p is TraceParent => p !== null);
      const span = tracer.startSpan(
        name,
        {
          kind: options.kind === 'server' ? SpanKind.SERVER : SpanKind.INTERNAL,
          attributes: clean(options.attributes),
          links: links.map((p) => ({ context: remoteContext(p) })),
        },
        ctx,
      );
      return new OtelSpan(span);
    },
    shutdown() {
      stopped ??= Promise.race([
        provider.shutdown().catch(() => undefined),
        new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_MS).unref()),
      ]);
      return stopped;
    },
  };
}
