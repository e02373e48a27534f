// Invariant 19 (bad input) and 15 (authentication): hostile requests get a clear 4xx and
// leave nothing behind.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
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
