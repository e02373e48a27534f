// Invariant 19 (bad input) and 15 (authentication): hostile requests get a clear 4xx and
// leave nothing behind.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ERROR_CODES } from '../../src/errors/index.ts';
import { ENGINES } from '../support/engines.ts';
import { rawSql } from '../support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from '../support/server.ts';

for (const engine of ENGINES) {
  describe(`bad input on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    const planCount = async () => Number((await rawSql(s, 'select count(*) as n from plans'))[0].n);
    before(async () => {
      s = await startTestServer(engine, { bodyLimitBytes: 64 * 1024 });
    });
    after(async () => s?.close());

    const cases: [string, () => Promise<{ status: number; body: any }>, number, string][] = [
      ['malformed JSON', () => s.request('POST', '/v1/plans', { raw: '{"intent": "x",' }), 400, 'INVALID_JSON'],
      ['an empty JSON body', () => s.request('POST', '/v1/plans', { raw: '' }), 400, 'INVALID_JSON'],
      ['a JSON array', () => s.request('POST', '/v1/plans', { raw: '[]' }), 400, 'VALIDATION_FAILED'],
      [
        'an oversized body',
        () => s.request('POST', '/v1/plans', { body: { ...echoPlan(), intent: 'x'.repeat(100 * 1024) } }),
        413,
        'BODY_TOO_LARGE',
      ],
      [
        'a non-JSON content type',
        () => s.request('POST', '/v1/plans', { raw: 'intent=x', headers: { 'content-type': 'text/plain' } }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'prototype pollution',
        () => s.request('POST', '/v1/plans', { raw: `{"__proto__":{"admin":true},${JSON.stringify(echoPlan()).slice(1)}` }),
        400,
        'INVALID_JSON',
      ],
      [
        'an unknown tool',
        () => s.request('POST', '/v1/plans', { body: { ...echoPlan(), steps: [{ tool: 'rm', action: 'rf', input: {} }] } }),
        400,
        'UNKNOWN_TOOL',
      ],
      [
        'an unknown action',
        () => s.request('POST', '/v1/plans', { body: { ...echoPlan(), steps: [{ tool: 'echo', action: 'shout', input: {} }] } }),
        400,
        'UNKNOWN_ACTION',
      ],
      [
        'input longer than the schema allows',
        () => s.request('POST', '/v1/plans', { body: echoPlan('x'.repeat(201)) }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'an input field the schema does not declare',
        () =>
          s.request('POST', '/v1/plans', {
            body: { ...echoPlan(), steps: [{ tool: 'echo', action: 'say', input: { message: 'a', extra: '--rf' } }] },
          }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'input of the wrong type',
        () =>
          s.request('POST', '/v1/plans', { body: { ...echoPlan(), steps: [{ tool: 'echo', action: 'say', input: { message: ['a'] } }] } }),
        400,
        'VALIDATION_FAILED',
      ],
      ['a value that would add a flag', () => s.request('POST', '/v1/plans', { body: echoPlan('--help') }), 400, 'VALIDATION_FAILED'],
      [
        'a lone surrogate',
        () => s.request('POST', '/v1/plans', { raw: JSON.stringify(echoPlan()).replace('"hello"', '"\\ud800"') }),
        400,
        'NOT_CANONICALIZABLE',
      ],
      [
        'an unknown top-level field',
        () => s.request('POST', '/v1/plans', { body: { ...echoPlan(), status: 'approved' } }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'a raw command line',
        () =>
          s.request('POST', '/v1/plans', {
            body: { ...echoPlan(), steps: [{ tool: 'echo', action: 'say', input: { message: 'x' }, argv: ['/bin/sh', '-c', 'id'] }] },
          }),
        400,
        'VALIDATION_FAILED',
      ],
      ['an unknown environment', () => s.request('POST', '/v1/plans', { body: echoPlan('x', 'moon') }), 400, 'UNKNOWN_ENVIRONMENT'],
      [
        'another tenant in the body',
        () => s.request('POST', '/v1/plans', { body: { ...echoPlan(), tenant: 'ten_someoneelse' } }),
        400,
        'CONTEXT_CONFLICT',
      ],
      [
        'a self-declared trusted source',
        () => s.request('POST', '/v1/plans', { body: { ...echoPlan(), source: 'mcp' } }),
        400,
        'VALIDATION_FAILED',
      ],
      ['no API key', () => s.request('POST', '/v1/plans', { key: null, body: echoPlan() }), 401, 'UNAUTHENTICATED'],
      ['a malformed API key', () => s.request('POST', '/v1/plans', { key: 'letmein', body: echoPlan() }), 401, 'UNAUTHENTICATED'],
      [
        'a well-formed key with the wrong secret',
        () => s.request('POST', '/v1/plans', { key: `${s.init.adminKey.slice(0, -5)}AAAAA`, body: echoPlan() }),
        401,
        'UNAUTHENTICATED',
      ],
      [
        'an unknown key id',
        () => s.request('POST', '/v1/plans', { key: `csk_${'0'.repeat(26)}_${'A'.repeat(43)}`, body: echoPlan() }),
        401,
        'UNAUTHENTICATED',
      ],
      [
        'a Basic credential',
        () =>
          s.request('POST', '/v1/plans', {
            key: null,
            headers: { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
            body: echoPlan(),
          }),
        401,
        'UNAUTHENTICATED',
      ],
    ];

    for (const [name, send, status, code] of cases) {
      test(`refuses ${name} with ${status} ${code} and stores nothing`, async () => {
        const before = await planCount();
        const res = await send();
        assert.equal(res.status, status, JSON.stringify(res.body));
        assert.equal(res.body.error.code, code);
        assert.equal(typeof res.body.error.message, 'string');
        assert.equal(await planCount(), before);
      });
    }

    test('audits every failed authentication with its reason', async () => {
      await s.request('GET', '/v1/plans', { key: 'csk_nope' });
      const rows = await rawSql(s, "select details from audit_log where action = 'auth.authenticate' and outcome = 'denied'");
      const reasons = rows.map((r) => JSON.parse(r.details).reason);
      assert.ok(reasons.includes('malformed'));
      assert.ok(reasons.includes('bad_secret'));
      assert.ok(reasons.includes('missing'));
    });

    test('never echoes an internal error message', async () => {
      const res = await s.request('GET', '/v1/plans/%00%ff');
      assert.ok(res.status < 500 || res.body.error.message === 'internal error; see the server log');
    });
  });
}

/** Sends bytes on a raw socket (no client library to tidy them up) and parses the one answer. */
function rawHttp(url: string, request: string): Promise<{ status: number; headers: Record<string, string>; text: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(request));
    let data = '';
    const done = () => {
      const [head = '', ...rest] = data.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      if (!statusLine) reject(new Error('no answer'));
      else resolve({ status: Number(statusLine.split(' ')[1]), headers, text: rest.join('\r\n\r\n') });
    };
    socket.setEncoding('latin1');
    socket.on('data', (d) => {
      data += d;
    });
    socket.on('close', done);
    // The server may reset a connection it refused mid-request; what it answered first still counts.
    socket.on('error', () => socket.destroy());
  });
}

// Issue 11 §4: errors raised by Fastify or by Node's HTTP parser, before any route runs, answer in
// the documented {"error":{"code","message"}} shape with a stable code, and never echo the request.
describe('errors before a route runs', () => {
  let s: TestServer;
  const MARK = 'zq9echo7marker';
  before(async () => {
    s = await startTestServer(ENGINES[0]!, { bodyLimitBytes: 64 * 1024 });
  });
  after(async () => s?.close());

  const auth = () => `Authorization: Bearer ${s.init.adminKey}\r\n`;
  const post = (headers: string, body: string) =>
    `POST /v1/plans HTTP/1.1\r\nHost: x\r\n${auth()}${headers}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  const cases: [string, () => string, number, string][] = [
    [
      'a request line longer than the parser takes (20 KB URL)',
      () => `GET /v1/plans?q=${MARK}${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      414,
      'URI_TOO_LONG',
    ],
    [
      'a URL longer than the API reads (10 KB)',
      () => `GET /v1/plans?q=${MARK}${'a'.repeat(10_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      414,
      'URI_TOO_LONG',
    ],
    [
      'a path segment longer than a route parameter may be',
      () => `GET /v1/plans/${MARK}${'a'.repeat(200)} HTTP/1.1\r\nHost: x\r\n${auth()}Connection: close\r\n\r\n`,
      414,
      'URI_TOO_LONG',
    ],
    [
      'headers larger than the parser takes (20 KB)',
      () => `GET /v1/plans HTTP/1.1\r\nHost: x\r\nX-Pad: ${MARK}${'b'.repeat(20_000)}\r\n\r\n`,
      431,
      'HEADERS_TOO_LARGE',
    ],
    [
      'bad percent-encoding in the path',
      () => `GET /v1/plans/%zz${MARK} HTTP/1.1\r\nHost: x\r\n${auth()}Connection: close\r\n\r\n`,
      400,
      'BAD_REQUEST',
    ],
    ['an unknown route', () => `GET /v1/${MARK}<script> HTTP/1.1\r\nHost: x\r\n${auth()}Connection: close\r\n\r\n`, 404, 'NOT_FOUND'],
    [
      'a method the path does not take',
      () => `PATCH /v1/plans?${MARK} HTTP/1.1\r\nHost: x\r\n${auth()}Content-Length: 0\r\nConnection: close\r\n\r\n`,
      405,
      'METHOD_NOT_ALLOWED',
    ],
    ['a non-JSON media type', () => post(`Content-Type: text/${MARK}\r\n`, '{}'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['malformed JSON', () => post('Content-Type: application/json\r\n', `{"intent": "${MARK}`), 400, 'INVALID_JSON'],
    [
      'a body over the limit',
      () => post('Content-Type: application/json\r\n', `{"intent":"${MARK}${'x'.repeat(70_000)}"}`),
      413,
      'BODY_TOO_LARGE',
    ],
    [
      'a Content-Length that is not a number',
      () => `POST /v1/plans HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\nContent-Length: ${MARK}\r\n\r\n{}`,
      400,
      'BAD_REQUEST',
    ],
    ['a request line that is not HTTP', () => `${MARK} / nonsense\r\n\r\n`, 400, 'BAD_REQUEST'],
  ];
  for (const [name, request, status, code] of cases) {
    test(`answers ${name} with ${status} ${code} in the API's shape, without echoing it`, async () => {
      const res = await rawHttp(s.url, request());
      assert.equal(res.status, status, res.text);
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
      const body = JSON.parse(res.text);
      assert.deepEqual(Object.keys(body), ['error']);
      assert.equal(body.error.code, code);
      assert.equal(ERROR_CODES[code as keyof typeof ERROR_CODES].status, status, 'the code is documented with this status');
      assert.equal(typeof body.error.message, 'string');
      assert.ok(!res.text.includes(MARK), `the answer echoes the request: ${res.text}`);
      assert.ok(!res.text.includes('FST_'), 'no framework error code leaks');
    });
  }

  test('a wrong method names the methods the path takes in Allow', async () => {
    const res = await rawHttp(s.url, `DELETE /v1/plans HTTP/1.1\r\nHost: x\r\n${auth()}Connection: close\r\n\r\n`);
    assert.equal(res.status, 405);
    assert.deepEqual(res.headers.allow?.split(', ').sort(), ['GET', 'HEAD', 'POST']);
  });

  test('an unknown route still asks for a credential first (no route map for strangers)', async () => {
    const res = await rawHttp(s.url, `GET /v1/${MARK} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(res.status, 401);
    assert.equal(JSON.parse(res.text).error.code, 'UNAUTHENTICATED');
  });

  test('GET / points to the API reference, without a credential', async () => {
    const res = await s.request('GET', '/', { key: null });
    assert.equal(res.status, 200);
    assert.equal(res.body.docs, '/docs');
    assert.equal((await s.request('GET', res.body.openapi, { key: null })).status, 200);
  });
});
