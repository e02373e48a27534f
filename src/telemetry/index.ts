// Telemetry: OpenTelemetry traces (loaded only when on), the request scope, request ids.
export {
  TELEMETRY_CONFIG_DEFAULT,
  type TelemetryConfig,
  TelemetryConfigSchema,
  type TracingConfig,
  TracingConfigSchema,
} from './config.ts';
export { jsonLogLine, type LogFields, type LogLevel, processLogLine, withLogFields } from './process-log.ts';
export { acceptRequestId, isSafeRequestId } from './request-id.ts';
export {
  currentRequestId,
  currentSpan,
  inLeafSpan,
  inSpan,
  linkToOrigin,
  runInTelemetryScope,
  type TelemetryScope,
} from './scope.ts';
export { formatTraceParent, parseTraceParent, type TraceParent } from './traceparent.ts';
export {
  NOOP_SPAN,
  type SpanAttributes,
  type StartSpanOptions,
  startTracing,
  TRACING_OFF,
  type TraceSpan,
  type Tracing,
  type TracingIdentity,
} from './tracing.ts';
