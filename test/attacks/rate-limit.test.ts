// Invariant 17: budgets per principal and per address, answered with 429 and Retry-After.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ENGINES } from '../support/engines.ts';
import { addPrincipal } from '../support/principals.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('rate limits', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(ENGINES[0]!, {
      rateLimit: true,
      configure: (dir) => {
        const file = join(dir, 'countersign.yaml');
        const yaml = readFileSync(file, 'utf8')
          .replace(/perPrincipalPerMinute: \d+/, 'perPrincipalPerMinute: 8')
          .replace(/perAddressPerMinute: \d+/, 'perAddressPerMinute: 30');
        writeFileSync(file, yaml);
      },
    });
  });
  after(async () => s?.close());

  test('a principal over its budget gets 429 with Retry-After; another principal is unaffected', async () => {
    const other = await addPrincipal(s, 'other', 'human', ['auditor']);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 9; i++) {
      const r = await s.request('GET', '/v1/whoami');
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get('retry-after');
        assert.equal(r.body.error.code, 'RATE_LIMITED');
      }
    }
    assert.equal(statuses.at(-1), 429);
    assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60);
    assert.equal((await s.request('GET', '/v1/whoami', { key: other.key })).status, 200);
  });

  test('one address over its budget gets 429 even without a valid key', async () => {
    let last = 0;
    for (let i = 0; i < 40 && last !== 429; i++) last = (await s.request('GET', '/v1/plans', { key: 'csk_garbage' })).status;
    assert.equal(last, 429);
  });
});
