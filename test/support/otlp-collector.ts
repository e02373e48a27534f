import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * A local OTLP/HTTP traces collector: accepts what `@opentelemetry/exporter-trace-otlp-http`
 * really sends (POST /v1/traces, `application/json`, the OTLP JSON encoding of
 * ExportTraceServiceRequest — ids as hex strings, attributes as typed AnyValues, optional gzip)
 * and decodes it. Anything else (protobuf, another path) is refused with 415/404, so a change
 * of encoding fails the tests instead of passing unread.
 */
export interface CollectedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string; attributes: Record<string, unknown> }[];
  status: { code?: number; message?: string };
  /** The exporting process's resource attributes (service.name, service.instance.role). */
  resource: Record<string, unknown>;
}

export interface FakeCollector {
  url: string;
  spans: CollectedSpan[];
  /** Headers of every export request received. */
  requests: IncomingHttpHeaders[];
  refused: number;
  close(): Promise<void>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };

function value(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v;
}

function attributes(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
}

const HEX = (n: number) => new RegExp(`^[0-9a-f]{${n}}$`);

function decode(body: { resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: any[] }[] }[] }): CollectedSpan[] {
  const out: CollectedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? []) {
        if (!HEX(32).test(s.traceId) || !HEX(16).test(s.spanId)) throw new Error(`ids not in OTLP JSON hex form: ${JSON.stringify(s)}`);
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId || undefined,
          name: s.name,
          kind: s.kind,
          attributes: attributes(s.attributes),
          links: (s.links ?? []).map((l: { traceId: string; spanId: string; attributes?: KeyValue[] }) => ({
            traceId: l.traceId,
            spanId: l.spanId,
            attributes: attributes(l.attributes),
          })),
          status: s.status ?? {},
          resource,
        });
      }
  }
  return out;
}

export async function startFakeCollector(): Promise<FakeCollector> {
  const collector = { spans: [] as CollectedSpan[], requests: [] as IncomingHttpHeaders[], refused: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      collector.requests.push(req.headers);
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        collector.refused++;
        res.writeHead(404).end();
        return;
      }
      if (!String(req.headers['content-type']).startsWith('application/json')) {
        collector.refused++;
        res.writeHead(415).end();
        return;
      }
      try {
        let raw = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
        collector.spans.push(...decode(JSON.parse(raw.toString('utf8'))));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (err) {
        collector.refused++;
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message: (err as Error).message }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(collector, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
