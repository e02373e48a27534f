import type { TracingConfig } from './config.ts';
import type { TraceParent } from './traceparent.ts';

/** Attribute values a span carries: bounded, never secrets (spans leave the host). */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** One span, as the rest of the code sees it: no OpenTelemetry type leaks out of this folder. */
export interface TraceSpan {
  setAttributes(attributes: SpanAttributes): void;
  /**
   * A span link to work done elsewhere or earlier (a plan's proposal, from its approval or its
   * execution in another process): a link, not a parent, since that trace has long ended.
   * A value that is not a valid `traceparent` is ignored.
   */
  addLink(traceparent: string | null | undefined, attributes?: SpanAttributes): void;
  /** Marks the span failed, with the error's stable code when it has one. */
  fail(err: unknown): void;
  end(): void;
  /** This span's W3C `traceparent`, to store with a record or send on; null when not tracing. */
  traceparent(): string | null;
}

export interface StartSpanOptions {
  attributes?: SpanAttributes;
  /** The parent: a span of this process, or a remote caller's `traceparent`. None: a new trace. */
  parent?: TraceSpan | TraceParent | null;
  links?: readonly (string | null | undefined)[];
  kind?: 'server' | 'internal';
}

export interface Tracing {
  readonly enabled: boolean;
  startSpan(name: string, options?: StartSpanOptions): TraceSpan;
  /** Sends what is buffered, then stops (bounded: a collector that is away cannot hold a stop). */
  shutdown(): Promise<void>;
}

export const NOOP_SPAN: TraceSpan = {
  setAttributes: () => undefined,
  addLink: () => undefined,
  fail: () => undefined,
  end: () => undefined,
  traceparent: () => null,
};

/** Tracing off: what every process uses unless `telemetry.tracing.enabled` is set. */
export const TRACING_OFF: Tracing = {
  enabled: false,
  startSpan: () => NOOP_SPAN,
  shutdown: async () => undefined,
};

export interface TracingIdentity {
  /** Which Countersign process exports (api, executor). */
  role: 'api' | 'executor';
  version: string;
}

/**
 * Tracing as configured. Off, it returns TRACING_OFF without loading a single OpenTelemetry
 * module: the SDK and the exporter are imported here, on demand, so a server with tracing off
 * (and the CLI's start) pays nothing for them.
 */
export async function startTracing(config: TracingConfig, identity: TracingIdentity): Promise<Tracing> {
  if (!config.enabled) return TRACING_OFF;
  const { openTelemetryTracing } = await import('./otel.ts');
  return openTelemetryTracing(config, identity);
}
