// W3C trace context at the API's edge (issue 16): a valid `traceparent` is continued, a caller's
// "not sampled" is honoured, and anything malformed (zero ids, version ff, uppercase, padding,
// a second header, oversized) is ignored: the request starts a trace of its own, never one an
// attacker named badly. The proposal's context is stored with the plan on PostgreSQL too.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../src/api/app.ts';
import { parseTraceParent, startTracing, type Tracing } from '../src/telemetry/index.ts';
import { ENGINES } from './support/engines.ts';
import { type FakeCollector, startFakeCollector } from './support/otlp-collector.ts';
import { rawSql } from './support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from './support/server.ts';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

test('parseTraceParent accepts only the W3C form', () => {
  assert.deepEqual(parseTraceParent(`00-${TRACE}-${SPAN}-01`), { traceId: TRACE, spanId: SPAN, flags: 1 });
  assert.deepEqual(
    parseTraceParent(`01-${TRACE}-${SPAN}-00-future`),
    null,
    'a later version with more fields is not read (strict): a new trace',
  );
  for (const bad of [
    `00-${'0'.repeat(32)}-${SPAN}-01`,
    `00-${TRACE}-${'0'.repeat(16)}-01`,
    `ff-${TRACE}-${SPAN}-01`,
    `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-01-extra`,
    `00-${TRACE}-${SPAN}`,
    `00-${TRACE}-${SPAN}-01, 00-${TRACE}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-01${' '.repeat(300)}`,
    `00-${TRACE}\r\n-${SPAN}-01`,
  ])
    assert.equal(parseTraceParent(bad), null, bad);
});

/** A test server whose API traces every request to a fake OTLP collector. */
async function tracedServer(engine: (typeof ENGINES)[number]) {
  const collector = await startFakeCollector();
  const s = await startTestServer(engine);
  const tracing = await startTracing(
    { enabled: true, endpoint: `${collector.url}/v1/traces`, headers: {}, serviceName: 'propagation', samplingRatio: 1 },
    { role: 'api', version: 'test' },
  );
  const app = await buildApi(s.ctx, {
    bodyLimitBytes: 1024 * 1024,
    trustProxy: false,
    rateLimit: { ...s.ctx.config.rateLimit, enabled: false },
    version: 'test',
    logger: false,
    tracing,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { s, app, url, collector, tracing };
}

async function closeTraced(t: { s?: TestServer; app?: FastifyInstance; collector?: FakeCollector; tracing?: Tracing }): Promise<void> {
  await t.app?.close();
  await t.tracing?.shutdown();
  await t.s?.close();
  await t.collector?.close();
}

const engine = ENGINES[1]!;
describe(`trace context at the edge, on ${engine.name}`, { skip: engine.skip }, () => {
  let s: TestServer;
  let app: FastifyInstance;
  let url: string;
  let collector: FakeCollector;
  let tracing: Tracing;
  const propose = async (headers: Record<string, string>) => {
    const res = await fetch(`${url}/v1/plans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.init.adminKey}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(echoPlan('propagation')),
    });
    const body = (await res.json()) as { id: string };
    assert.equal(res.status, 201, JSON.stringify(body));
    const [row] = await rawSql(s, 'select trace_context from plans where id = ?', [body.id]);
    return { planId: body.id, requestId: res.headers.get('x-request-id'), traceContext: row.trace_context as string | null };
  };

  before(async () => {
    ({ s, app, url, collector, tracing } = await tracedServer(engine));
  });
  after(() => closeTraced({ s, app, collector, tracing }));

  test('a valid traceparent is continued and the proposal’s context is stored with the plan', async () => {
    const p = await propose({ traceparent: `00-${TRACE}-${SPAN}-01` });
    const stored = parseTraceParent(p.traceContext);
    assert.ok(stored);
    assert.equal(stored.traceId, TRACE);
    assert.notEqual(stored.spanId, SPAN, 'the stored span is the proposal’s own, a child of the caller’s');
    assert.equal(stored.flags, 1);
  });

  test('a caller’s "not sampled" is honoured: nothing exported for that request', async () => {
    const p = await propose({ traceparent: `00-${TRACE.replace('0af7', '1bf7')}-${SPAN}-00`, 'x-request-id': 'unsampled-1' });
    assert.equal(parseTraceParent(p.traceContext)?.flags, 0);
    await tracing.shutdown();
    assert.ok(collector.spans.length > 0, 'the sampled request was exported');
    assert.ok(!collector.spans.some((x) => x.attributes['countersign.request_id'] === 'unsampled-1'));
    assert.ok(!collector.spans.some((x) => x.traceId.startsWith('1bf7')));
    // The proposal's transaction is a span of its own under the operation's.
    const op = collector.spans.find((x) => x.name === 'operation plan.propose' && x.traceId === TRACE);
    assert.ok(op);
    const tx = collector.spans.filter((x) => x.name === 'store.transaction' && x.parentSpanId === op.spanId);
    assert.equal(tx.length, 1);
    assert.equal(tx[0]?.attributes['db.system.name'], 'postgresql');
  });
});

describe('malformed trace context starts a new trace', () => {
  let s: TestServer;
  let app: FastifyInstance;
  let url: string;
  let collector: FakeCollector;
  let tracing: Tracing;
  before(async () => {
    ({ s, app, url, collector, tracing } = await tracedServer(ENGINES[0]!));
  });
  after(() => closeTraced({ s, app, collector, tracing }));

  test('zero ids, version ff, uppercase, trailing data: ignored, each request in a fresh trace', async () => {
    const bad = [
      `00-${'0'.repeat(32)}-${SPAN}-01`,
      `ff-${TRACE}-${SPAN}-01`,
      `00-${TRACE.toUpperCase()}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-01-extra`,
      `00-${TRACE}-${SPAN}-01,00-${TRACE}-${SPAN}-01`,
    ];
    for (const [i, traceparent] of bad.entries()) {
      const res = await fetch(`${url}/healthz`, { headers: { traceparent, 'x-request-id': `bad-${i}` } });
      assert.equal(res.status, 200);
    }
    await tracing.shutdown();
    const spans = collector.spans.filter((x) => String(x.attributes['countersign.request_id']).startsWith('bad-'));
    assert.equal(spans.length, bad.length);
    for (const x of spans) {
      assert.notEqual(x.traceId, TRACE);
      assert.notEqual(x.traceId, TRACE.toUpperCase());
      assert.equal(x.parentSpanId, undefined, 'a root span');
    }
    assert.equal(new Set(spans.map((x) => x.traceId)).size, bad.length);
  });
});
