// Figure: plan submission over HTTP with OpenTelemetry tracing on (request, operation and
// proposal spans exported over OTLP/HTTP to a local sink) beside the same server with tracing
// off — the default — measured alternately in the same run on one data directory.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApi } from '../src/api/app.ts';
import { openServerContext } from '../src/server/context.ts';
import { startTracing } from '../src/telemetry/index.ts';
import { median, nowMs, percentiles, progress, type Row } from './lib.ts';
import { freshDataDir } from './support/datadir.ts';
import { THREE_STEP_PLAN } from './support/plans.ts';

const RUNS = 400;
const WARMUP = 40;

/** An OTLP/HTTP endpoint that reads and acknowledges every export (what a collector costs us on the wire). */
async function sink(): Promise<{ url: string; exports: () => number; close: () => Promise<void> }> {
  let exports = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/traces`, exports: () => exports, close: () => new Promise((r) => server.close(() => r())) };
}

export async function run(): Promise<Row[]> {
  const data = await freshDataDir('cs-bench-tracing-');
  const collector = await sink();
  const ctx = await openServerContext(data.dir, { warn: () => {} });
  const tracing = await startTracing(
    { enabled: true, endpoint: collector.url, headers: {}, serviceName: 'countersign-bench', samplingRatio: 1 },
    { role: 'api', version: 'bench' },
  );
  const options = {
    bodyLimitBytes: ctx.config.server.bodyLimitBytes,
    trustProxy: false,
    rateLimit: { ...ctx.config.rateLimit, enabled: false },
    version: 'bench',
    logger: false as const,
  };
  const off = await buildApi(ctx, options);
  const on = await buildApi(ctx, { ...options, tracing });
  const offUrl = await off.listen({ host: '127.0.0.1', port: 0 });
  const onUrl = await on.listen({ host: '127.0.0.1', port: 0 });
  const body = JSON.stringify(THREE_STEP_PLAN);
  const propose = async (url: string) => {
    const t = nowMs();
    const res = await fetch(`${url}/v1/plans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${data.init.adminKey}`, 'content-type': 'application/json' },
      body,
    });
    await res.arrayBuffer();
    if (res.status !== 201) throw new Error(`bench plan: ${res.status}`);
    return nowMs() - t;
  };
  try {
    progress(`tracing: ${RUNS} plan submissions with tracing on, alternating with ${RUNS} with it off`);
    for (let i = 0; i < WARMUP; i++) {
      await propose(onUrl);
      await propose(offUrl);
    }
    const withTracing: number[] = [];
    const without: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // Alternate which goes first so neither always meets a warmer cache.
      if (i % 2 === 0) {
        withTracing.push(await propose(onUrl));
        without.push(await propose(offUrl));
      } else {
        without.push(await propose(offUrl));
        withTracing.push(await propose(onUrl));
      }
    }
    await tracing.shutdown();
    const pOn = percentiles(Float64Array.from(withTracing));
    const pOff = percentiles(Float64Array.from(without));
    return [
      {
        id: 'tracing.plans.p50',
        figure: 'POST /v1/plans with tracing on (OTLP/HTTP to a local sink), p50 (SQLite)',
        kind: 'latency',
        value: pOn.p50,
        floor: { label: 'the same server with tracing off (the default), p50', value: pOff.p50 },
        notes: [
          `+${(pOn.p50 - pOff.p50).toFixed(2)} ms (${((pOn.p50 / pOff.p50 - 1) * 100).toFixed(1)}%) at p50; p99 ${pOn.p99.toFixed(1)} ms on vs ${pOff.p99.toFixed(1)} ms off`,
          `sequential, one connection each; ${collector.exports()} OTLP export requests received (3 spans a plan)`,
        ],
        detail: { runs: RUNS, p99On: pOn.p99, p99Off: pOff.p99, medianOff: median(without), exports: collector.exports() },
      },
    ];
  } finally {
    await on.close();
    await off.close();
    await ctx.close();
    await collector.close();
    data.remove();
  }
}
