// Traces (issue 16): one plan's proposal, approval and execution are linked across the API and
// executor processes of a real `countersign serve`, and exported over OTLP/HTTP (the exporter's
// real JSON requests, decoded by a local collector). With tracing off, no OpenTelemetry module
// is even loaded (watched by a module-resolution hook in both processes) and nothing is sent.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { parseDocument } from 'yaml';
import { initDataDir } from '../src/server/init.ts';
import { removeWorkRoot, TERMINAL_STATUSES } from './support/execution.ts';
import { type CollectedSpan, type FakeCollector, startFakeCollector } from './support/otlp-collector.ts';
import { rawSql } from './support/raw-db.ts';
import { type ServeProcess, startServe } from './support/serve-process.ts';
import { echoPlan, tempDir } from './support/server.ts';
import { writeTestTools } from './support/tools.ts';

/** NODE_OPTIONS that record every @opentelemetry module any process of the run resolves. */
function moduleWatch(): { nodeOptions: string; log: string; loaded(): string[] } {
  const dir = tempDir('cs-otel-watch-');
  const log = join(dir, 'resolved.log');
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.includes('/@opentelemetry/')) appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}
`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
  );
  return {
    nodeOptions: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(join(dir, 'register.mjs')).href}`.trim(),
    log,
    loaded: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []),
  };
}

async function dataDir(tracing: Record<string, unknown> | null): Promise<{ dir: string; adminKey: string }> {
  const dir = join(tempDir(), 'data');
  const init = await initDataDir(dir);
  writeTestTools(dir);
  if (tracing) {
    const file = join(dir, 'countersign.yaml');
    const doc = parseDocument(readFileSync(file, 'utf8'));
    doc.setIn(['telemetry', 'tracing'], tracing);
    doc.setIn(['executor', 'pollMilliseconds'], 100);
    writeFileSync(file, doc.toString());
  }
  return { dir, adminKey: init.adminKey };
}

function client(url: string, defaultKey: string) {
  return async (method: string, path: string, body?: unknown, options: { key?: string; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${options.key ?? defaultKey}`, ...options.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };
}

async function untilFinished(call: ReturnType<typeof client>, executionId: string): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const view = await call('GET', `/v1/executions/${executionId}`);
    if ((TERMINAL_STATUSES as readonly string[]).includes(view.body.status)) return view.body.status;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`execution ${executionId} did not finish`);
}

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('traces across the API and the executor', () => {
  let collector: FakeCollector;
  let serve: ServeProcess | undefined;
  let dir: string;
  const watch = moduleWatch();
  let planId = '';
  let executionId = '';
  let spans: CollectedSpan[] = [];
  const one = (predicate: (s: CollectedSpan) => boolean, what: string) => {
    const found = spans.filter(predicate);
    assert.equal(found.length, 1, `expected one ${what}, got ${found.length}: ${spans.map((s) => s.name).join(', ')}`);
    return found[0] as CollectedSpan;
  };

  before(async () => {
    collector = await startFakeCollector();
    const made = await dataDir({
      enabled: true,
      endpoint: `${collector.url}/v1/traces`,
      headers: { authorization: '${env:CS_TEST_OTLP_AUTH}' },
      serviceName: 'countersign-test',
    });
    dir = made.dir;
    serve = await startServe(dir, [], { CS_TEST_OTLP_AUTH: 'Bearer collector-key', NODE_OPTIONS: watch.nodeOptions });
    const call = client(serve.url, made.adminKey);
    const alice = await call('POST', '/v1/principals', { name: 'alice', kind: 'human', groups: ['approvers'] });
    assert.equal(alice.status, 201, JSON.stringify(alice.body));
    const proposed = await call('POST', '/v1/plans', echoPlan('traced', 'staging'), {
      headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, 'x-request-id': 'req-propose-1' },
    });
    assert.equal(proposed.status, 201, JSON.stringify(proposed.body));
    assert.equal(proposed.body.status, 'pending_approval');
    assert.equal(proposed.headers.get('x-request-id'), 'req-propose-1');
    planId = proposed.body.id;
    const approved = await call(
      'POST',
      `/v1/plans/${planId}/approvals`,
      { decision: 'approve', planHash: proposed.body.hash, comment: 'ok' },
      { key: alice.body.key },
    );
    assert.equal(approved.status, 201, JSON.stringify(approved.body));
    assert.equal(approved.body.plan.status, 'approved');
    const started = await call('POST', `/v1/plans/${planId}/executions`, {});
    assert.equal(started.status, 201, JSON.stringify(started.body));
    executionId = started.body.id;
    assert.equal(await untilFinished(call, executionId), 'succeeded');
    // A stop flushes both processes' exporters.
    assert.equal(await serve.stop(), 0, serve.output());
    spans = collector.spans;
  });
  after(async () => {
    await serve?.stop();
    await collector?.close();
    if (dir) removeWorkRoot(dir);
  });

  test('the exporter sends OTLP JSON with the configured headers, from both processes', () => {
    assert.equal(collector.refused, 0);
    assert.ok(collector.requests.length > 0);
    for (const h of collector.requests) {
      assert.match(String(h['content-type']), /^application\/json/);
      assert.equal(h.authorization, 'Bearer collector-key');
    }
    const roles = new Set(spans.map((s) => s.resource['service.instance.role']));
    assert.deepEqual([...roles].sort(), ['api', 'executor']);
    assert.ok(spans.every((s) => s.resource['service.name'] === 'countersign-test'));
    assert.ok(
      watch.loaded().some((u) => u.includes('@opentelemetry/sdk-trace-base')),
      'the watch saw the SDK load',
    );
  });

  test("the proposal's request span continues the caller's traceparent; its operation span is a child", async () => {
    const http = one((s) => s.name === 'POST /v1/plans', 'proposal request span');
    assert.equal(http.traceId, CALLER_TRACE);
    assert.equal(http.parentSpanId, CALLER_SPAN);
    assert.equal(http.kind, 2); // SERVER
    assert.equal(http.attributes['http.route'], '/v1/plans');
    assert.equal(http.attributes['http.response.status_code'], 201);
    assert.equal(http.attributes['countersign.request_id'], 'req-propose-1');
    const op = one((s) => s.name === 'operation plan.propose', 'plan.propose span');
    assert.equal(op.traceId, CALLER_TRACE);
    assert.equal(op.parentSpanId, http.spanId);
    assert.equal(op.attributes['countersign.decision'], 'allow');
    assert.equal(op.attributes['countersign.outcome'], 'allowed');
    assert.equal(op.attributes['countersign.channel'], 'api');
    // The plan records exactly that span's context.
    const [row] = await rawSql({ dir, databaseUrl: undefined }, 'select trace_context from plans where id = ?', [planId]);
    assert.equal(row.trace_context, `00-${CALLER_TRACE}-${op.spanId}-01`);
  });

  test("the approval's and the execution request's operation spans, in traces of their own, link to the proposal", () => {
    const propose = one((s) => s.name === 'operation plan.propose', 'plan.propose span');
    const approve = one((s) => s.name === 'operation plan.approve', 'plan.approve span');
    assert.notEqual(approve.traceId, CALLER_TRACE);
    assert.deepEqual(
      approve.links.map((l) => [l.traceId, l.spanId, l.attributes['countersign.link']]),
      [[CALLER_TRACE, propose.spanId, 'plan.propose']],
    );
    assert.equal(approve.attributes['countersign.decision'], 'allow');
    const http = one((s) => s.name === 'POST /v1/plans/:id/approvals', 'approval request span');
    assert.equal(approve.parentSpanId, http.spanId);
    // Asking for the execution links back too.
    const execute = one((s) => s.name === 'operation plan.execute', 'plan.execute span');
    assert.deepEqual(
      execute.links.map((l) => [l.traceId, l.spanId]),
      [[CALLER_TRACE, propose.spanId]],
    );
  });

  test("the executor's execution span links to the proposal; each step is its child with tool, action, exit and duration", () => {
    const propose = one((s) => s.name === 'operation plan.propose', 'plan.propose span');
    const exec = one((s) => s.name === 'execution', 'execution span');
    assert.equal(exec.resource['service.instance.role'], 'executor');
    assert.equal(exec.attributes['countersign.execution_id'], executionId);
    assert.equal(exec.attributes['countersign.plan_id'], planId);
    assert.equal(exec.attributes['countersign.execution.status'], 'succeeded');
    assert.equal(exec.parentSpanId, undefined);
    assert.deepEqual(
      exec.links.map((l) => [l.traceId, l.spanId]),
      [[CALLER_TRACE, propose.spanId]],
    );
    const step = one((s) => s.name === 'execution.step', 'step span');
    assert.equal(step.traceId, exec.traceId);
    assert.equal(step.parentSpanId, exec.spanId);
    assert.equal(step.attributes['countersign.step.tool'], 'echo');
    assert.equal(step.attributes['countersign.step.action'], 'say');
    assert.equal(step.attributes['countersign.step.exit_code'], 0);
    assert.equal(step.attributes['countersign.step.outcome'], 'succeeded');
    assert.equal(typeof step.attributes['countersign.step.duration_seconds'], 'number');
  });

  test('no span carries a secret or a request body', () => {
    const text = JSON.stringify(spans);
    assert.ok(!text.includes('collector-key'));
    assert.ok(!text.includes('"traced"'), 'the plan input stayed out of the spans');
  });
});

describe('tracing off', () => {
  let collector: FakeCollector;
  let serve: ServeProcess | undefined;
  let dir: string;
  let adminKey: string;
  const watch = moduleWatch();
  before(async () => {
    collector = await startFakeCollector();
    // Everything configured but `enabled`: nothing may be loaded or sent.
    ({ dir, adminKey } = await dataDir({ enabled: false, endpoint: `${collector.url}/v1/traces` }));
    serve = await startServe(dir, [], { NODE_OPTIONS: watch.nodeOptions });
  });
  after(async () => {
    await serve?.stop();
    await collector?.close();
    if (dir) removeWorkRoot(dir);
  });

  test('serves and executes with no OpenTelemetry module loaded in either process, and sends nothing', async () => {
    assert.ok(serve);
    const call = client(serve.url, adminKey);
    const proposed = await call('POST', '/v1/plans', echoPlan('untraced'), {
      headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
    });
    assert.equal(proposed.status, 201, JSON.stringify(proposed.body));
    const started = await call('POST', `/v1/plans/${proposed.body.id}/executions`, {});
    assert.equal(started.status, 201, JSON.stringify(started.body));
    assert.equal(await untilFinished(call, started.body.id), 'succeeded');
    assert.equal(await serve.stop(), 0, serve.output());
    // prom-client resolves @opentelemetry/api for its exemplars; the SDK and the exporter stay unloaded.
    assert.deepEqual(
      watch.loaded().filter((u) => !u.includes('/@opentelemetry/api/')),
      [],
    );
    assert.equal(collector.requests.length, 0);
    const [row] = await rawSql({ dir, databaseUrl: undefined }, 'select trace_context from plans where id = ?', [proposed.body.id]);
    assert.equal(row.trace_context, null, 'no trace context is recorded without tracing');
  });
});
