// Structured logs with request ids (issue 16): every API log line of a request is JSON naming its
// request id; a caller's X-Request-Id is adopted only when safe (no CR/LF, no quotes, no
// megabytes: log injection), echoed in the answer header and in every error body, and recorded
// in the audit entries of the operations the request ran. The executor logs JSON lines that name
// the execution and plan. Secrets stay redacted throughout.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../src/api/app.ts';
import { type RunningExecutor, startExecutor } from '../src/executor/executor.ts';
import { acceptRequestId } from '../src/telemetry/index.ts';
import { ENGINES } from './support/engines.ts';
import { queueExecution, removeWorkRoot, waitForExecution } from './support/execution.ts';
import { rawSql } from './support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from './support/server.ts';

const SECRET = 'tok_live_5f1c0b9e7d3a2468ace0';

/** A raw HTTP/1.1 exchange: header bytes exactly as written (fetch refuses CR/LF in values). */
function rawRequest(url: string, head: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(head));
    let out = '';
    socket.on('data', (d) => (out += d));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

describe('request ids and JSON logs', () => {
  let s: TestServer;
  let app: FastifyInstance;
  let url: string;
  const lines: string[] = [];
  const logged = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${s.init.adminKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, id: res.headers.get('x-request-id'), body: (await res.json()) as any };
  };

  before(async () => {
    s = await startTestServer(ENGINES[0]!);
    s.ctx.store.knownSecrets.add([SECRET]);
    const stream = { write: (line: string) => void lines.push(line) };
    app = await buildApi(s.ctx, {
      bodyLimitBytes: 1024 * 1024,
      trustProxy: false,
      rateLimit: { ...s.ctx.config.rateLimit, enabled: false },
      version: 'test',
      logger: { level: 'info', stream } as unknown as { level: string },
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await app?.close();
    await s?.close();
  });

  test("a safe X-Request-Id is adopted: echoed, on every log line of the request, in the operation's audit entry", async () => {
    const r = await call('POST', '/v1/plans', { 'x-request-id': 'deploy-42.a:b_c' }, echoPlan('with an id'));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.id, 'deploy-42.a:b_c');
    const mine = logged().filter((l) => l.requestId === 'deploy-42.a:b_c');
    assert.ok(mine.length >= 2, 'incoming request and request completed');
    assert.ok(mine.some((l) => l.msg === 'request completed' && (l.res as { statusCode: number }).statusCode === 201));
    const [entry] = await rawSql(s, "select details from audit_log where action = 'plan.propose' and resource = ?", [`plan:${r.body.id}`]);
    assert.equal(JSON.parse(entry.details).requestId, 'deploy-42.a:b_c');
    assert.equal(JSON.parse(entry.details).channel, 'api');
  });

  test('without a header, every request gets a fresh id, also on refusals audited denied', async () => {
    const a = await call('GET', '/healthz');
    const b = await call('GET', '/healthz');
    assert.ok(a.id && b.id && a.id !== b.id);
    const r = await call('POST', '/v1/plans', {}, echoPlan('nowhere', 'no-such-env'));
    assert.equal(r.status, 400);
    assert.equal(r.body.error.requestId, r.id);
  });

  test('every error body names the request id: 401, 404 route, 404 resource, 415, 400 JSON', async () => {
    const unauth = await call('GET', '/v1/plans', { authorization: 'Bearer nope' });
    const noRoute = await call('GET', '/v1/nothing-here');
    const noPlan = await call('GET', '/v1/plans/pln_00000000000000000000000000');
    const media = await fetch(`${url}/v1/plans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.init.adminKey}`, 'content-type': 'text/plain', 'x-request-id': 'media-1' },
      body: 'x',
    });
    const badJson = await fetch(`${url}/v1/plans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.init.adminKey}`, 'content-type': 'application/json' },
      body: '{',
    });
    for (const r of [unauth, noRoute, noPlan]) {
      assert.ok(r.status >= 400);
      assert.ok(r.id);
      assert.equal(r.body.error.requestId, r.id, JSON.stringify(r.body));
    }
    assert.equal(media.status, 415);
    assert.equal(((await media.json()) as any).error.requestId, 'media-1');
    const bad = (await badJson.json()) as any;
    assert.equal(bad.error.code, 'INVALID_JSON');
    assert.equal(bad.error.requestId, badJson.headers.get('x-request-id'));
  });

  test('log injection: unsafe ids (quotes, spaces, JSON, huge, two headers) are replaced by fresh ones', async () => {
    const unsafe = [
      'a"}\\n{"level":60,"msg":"forged',
      'has space',
      'x'.repeat(129),
      'x'.repeat(10_000),
      '../../etc',
      '',
      '-leading-dash',
      'ünïcode',
    ];
    for (const value of unsafe) {
      const r = await fetch(`${url}/healthz`, { headers: { 'x-request-id': value } }).catch(() => null);
      if (!r) continue; // fetch itself refused to send it
      const id = r.headers.get('x-request-id') ?? '';
      assert.notEqual(id, value);
      assert.match(id, /^[0-9a-f-]{36}$/);
    }
    const twice = await rawRequest(
      url,
      'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: one\r\nX-Request-Id: two\r\nConnection: close\r\n\r\n',
    );
    assert.match(twice, /^HTTP\/1\.1 200/);
    assert.doesNotMatch(twice, /x-request-id: (one|two)/i);
    assert.equal(
      acceptRequestId(['one', 'two'], () => 'fresh'),
      'fresh',
    );
  });

  test('log injection: CR/LF in the header never reaches a log line', async () => {
    const before = lines.length;
    const split = await rawRequest(url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: ok\rFORGED\r\nConnection: close\r\n\r\n');
    assert.match(split, /^HTTP\/1\.1 400/);
    const lf = await rawRequest(
      url,
      'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: ok\nInjected: {"level":60}\r\nConnection: close\r\n\r\n',
    );
    // Node either refuses the request or reads a second header: the id is never the joined value.
    assert.doesNotMatch(lf, /x-request-id: ok\n/i);
    for (const line of lines.slice(before)) {
      assert.doesNotThrow(() => JSON.parse(line), line);
      assert.ok(!line.slice(0, -1).includes('\n'), 'one line per entry');
      assert.doesNotMatch(line, /FORGED/);
    }
  });

  test('every API log line is one JSON object; a request id equal to a known secret is redacted from the logs', async () => {
    await call('GET', '/healthz', { 'x-request-id': SECRET });
    const text = lines.join('');
    assert.ok(!text.includes(SECRET), 'a known secret was logged in clear');
    assert.match(text, /\[REDACTED\]/);
    for (const line of lines) {
      assert.ok(line.endsWith('\n'));
      const entry = JSON.parse(line) as Record<string, unknown>;
      assert.equal(typeof entry.level, 'number');
      assert.equal(typeof entry.time, 'number');
      if (entry.req || entry.res) assert.equal(typeof entry.requestId, 'string', line);
    }
  });
});

describe('executor JSON log lines', () => {
  let s: TestServer;
  let exe: RunningExecutor | undefined;
  const lines: string[] = [];
  before(async () => {
    s = await startTestServer(ENGINES[0]!);
    exe = await startExecutor(s.dir, { store: s.ctx.store, log: (l) => lines.push(l) });
  });
  after(async () => {
    await exe?.stop();
    await s?.close();
    removeWorkRoot(s.dir);
  });

  test('name the execution and its plan, in the API’s shape, with secrets redacted', async () => {
    const { planId, executionId } = await queueExecution(s, [{ tool: 'echo', action: 'say', input: { message: 'hi' } }]);
    assert.equal((await waitForExecution(s, executionId)).status, 'succeeded');
    await exe?.stop();
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = entries.find((e) => e.msg === `execution ${executionId}: succeeded`);
    assert.ok(done, lines.join('\n'));
    assert.equal(done.executionId, executionId);
    assert.equal(done.planId, planId);
    assert.equal(done.process, 'executor');
    assert.equal(done.level, 30);
    assert.equal(typeof done.owner, 'string');
  });
});
