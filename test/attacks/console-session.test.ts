// Issue 13: the console's sessions, CSRF defences and headers, attacked over real HTTP (no browser).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseDocument } from 'yaml';
import { routesOf } from '../../src/api/app.ts';
import { movableClock, parseSetCookie, writeConsoleConfig } from '../support/console.ts';
import { ENGINES } from '../support/engines.ts';
import { addPrincipal } from '../support/principals.ts';
import { rawSql } from '../support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from '../support/server.ts';

// Sessions, sign-ins and review tokens are rows of the store: both engines run the same cases.
for (const engine of ENGINES)
  describe(`console sessions and CSRF on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    const clock = movableClock();
    let reviewer: { id: string; key: string };
    let agent: { id: string; key: string };
    let origin = '';

    before(async () => {
      s = await startTestServer(engine, {
        runtime: clock,
        configure: (dir) => writeConsoleConfig(dir, { apiKeySignIn: true, sessionIdleMinutes: 30, sessionAbsoluteHours: 1 }),
      });
      origin = new URL(s.url).origin;
      reviewer = await addPrincipal(s, 'rita', 'human', ['approvers']);
      agent = await addPrincipal(s, 'bot', 'agent', ['approvers']);
    });
    after(async () => s?.close());

    const post = (path: string, init: { cookie?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
      fetch(`${s.url}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(init.cookie ? { cookie: init.cookie } : {}),
          ...(init.headers ?? {}),
        },
        body: JSON.stringify(init.body ?? {}),
      });
    const get = (path: string, cookie?: string) => fetch(`${s.url}${path}`, { headers: cookie ? { cookie } : {} });

    /** Signs in with an API key from the console's own origin; returns the cookie and CSRF token. */
    async function signIn(key: string): Promise<{ cookie: string; csrf: string; setCookie: string }> {
      const res = await post('/console/auth/key', { body: { key }, headers: { origin } });
      assert.equal(res.status, 204, await res.text());
      const setCookie = res.headers.get('set-cookie') ?? '';
      const c = parseSetCookie(setCookie);
      const cookie = `${c.name}=${c.value}`;
      const session = (await (await get('/console/api/session', cookie)).json()) as any;
      return { cookie, csrf: session.csrfToken, setCookie };
    }

    test('the console page carries a strict CSP and API clients keep the JSON index at /', async () => {
      const page = await fetch(`${s.url}/`, { headers: { accept: 'text/html' } });
      const csp = page.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
      const index = await fetch(`${s.url}/`, { headers: { accept: 'application/json' } });
      assert.equal(((await index.json()) as any).name, 'Countersign');
    });

    test('the session cookie is HttpOnly, SameSite=Strict, Path=/, and not Secure on loopback', async () => {
      const { setCookie } = await signIn(reviewer.key);
      const c = parseSetCookie(setCookie);
      assert.equal(c.name, 'cs_session');
      assert.ok(c.attributes.includes('httponly'));
      assert.ok(c.attributes.includes('samesite=strict'));
      assert.ok(c.attributes.includes('path=/'));
      assert.ok(!c.attributes.includes('secure'));
    });

    test('off loopback the cookie is Secure and __Host- prefixed', async () => {
      const res = await s.app.inject({
        method: 'POST',
        url: '/console/auth/key',
        headers: { host: 'countersign.example.com', origin: 'http://countersign.example.com', 'content-type': 'application/json' },
        payload: { key: reviewer.key },
      });
      assert.equal(res.statusCode, 204, res.body);
      const c = parseSetCookie(String(res.headers['set-cookie']));
      assert.equal(c.name, '__Host-cs_session');
      assert.ok(c.attributes.includes('secure'));
    });

    test('every console data route refuses a request without a session, and names operations of the table', async () => {
      const table = new Set(s.ctx.pipeline.operations().map((op) => op.name));
      const routes = routesOf(s.app).filter((r) => r.url.startsWith('/console/api/') && r.method !== 'HEAD');
      assert.ok(routes.length >= 20, `console routes found: ${routes.length}`);
      for (const r of routes) {
        for (const op of r.operations ?? []) assert.ok(table.has(op), `${r.method} ${r.url} names ${op}, not in the table`);
        const url = r.url.replace(':id', 'x');
        const res = await fetch(`${s.url}${url}`, {
          method: r.method,
          headers: { origin, 'content-type': 'application/json' },
          ...(r.method === 'GET' ? {} : { body: '{}' }),
        });
        assert.equal(res.status, 401, `${r.method} ${r.url}`);
      }
      assert.equal((await get('/console/api/session', 'cs_session=forged-token')).status, 401);
    });

    test('an agent key cannot sign in, and the refusal is audited', async () => {
      const res = await post('/console/auth/key', { body: { key: agent.key }, headers: { origin } });
      assert.equal(res.status, 403);
      assert.equal(((await res.json()) as any).error.code, 'CONSOLE_SIGN_IN_REFUSED');
      assert.equal(res.headers.get('set-cookie'), null);
      const rows = await rawSql(s, "select actor, details from audit_log where action = 'console.sign-in' and outcome = 'denied'");
      assert.ok(rows.some((r) => r.actor === agent.id && JSON.parse(r.details).reason === 'not_human'));
    });

    test('sign-in from another origin, or with no Origin, is refused (login CSRF)', async () => {
      const foreign = await post('/console/auth/key', { body: { key: reviewer.key }, headers: { origin: 'https://evil.example' } });
      assert.equal(foreign.status, 403);
      assert.equal(((await foreign.json()) as any).error.code, 'CSRF_REFUSED');
      const none = await post('/console/auth/key', { body: { key: reviewer.key } });
      assert.equal(none.status, 403);
    });

    test('a state change needs the session’s CSRF token and the console’s origin', async () => {
      const { cookie, csrf } = await signIn(reviewer.key);
      const plan = (await s.request('POST', '/v1/plans', { body: echoPlan('csrf', 'staging') })).body;
      const page = (await (await get(`/console/api/plans/${plan.id}`, cookie)).json()) as any;
      assert.equal(page.eligibility.allowed, true, JSON.stringify(page.eligibility));
      const body = { decision: 'approve', planHash: plan.hash, reviewToken: page.reviewToken };
      const path = `/console/api/plans/${plan.id}/review`;
      const attempts: [string, Record<string, string>][] = [
        ['no token', { origin }],
        ['wrong token', { origin, 'x-csrf-token': `${csrf.slice(0, -2)}xx` }],
        ['foreign origin', { origin: 'https://evil.example', 'x-csrf-token': csrf }],
        ['no origin', { 'x-csrf-token': csrf }],
        ['cross-site fetch', { origin, 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' }],
      ];
      for (const [name, headers] of attempts) {
        const res = await post(path, { cookie, body, headers });
        assert.equal(res.status, 403, name);
        assert.equal(((await res.json()) as any).error.code, 'CSRF_REFUSED', name);
      }
      assert.equal((await s.request('GET', `/v1/plans/${plan.id}`)).body.status, 'pending_approval');
      const ok = await post(path, { cookie, body, headers: { origin, 'x-csrf-token': csrf, 'sec-fetch-site': 'same-origin' } });
      assert.equal(ok.status, 201, await ok.text());
      const row = (await rawSql(s, 'select channel from approvals where plan_id = ?', [plan.id]))[0];
      assert.equal(row.channel, 'web');
    });

    test('a replayed review request is refused: each plan page grants one review of the hash it showed', async () => {
      const { cookie, csrf } = await signIn(reviewer.key);
      const plan = (await s.request('POST', '/v1/plans', { body: echoPlan('replay', 'prod') })).body;
      const page = (await (await get(`/console/api/plans/${plan.id}`, cookie)).json()) as any;
      const headers = { origin, 'x-csrf-token': csrf };
      const body = { decision: 'reject', planHash: plan.hash, reviewToken: page.reviewToken, comment: 'no' };
      const first = await post(`/console/api/plans/${plan.id}/review`, { cookie, body, headers });
      assert.equal(first.status, 201, await first.text());
      const replay = await post(`/console/api/plans/${plan.id}/review`, { cookie, body, headers });
      assert.equal(replay.status, 409);
      assert.equal(((await replay.json()) as any).error.code, 'REVIEW_REPLAYED');
      const votes = await rawSql(s, 'select count(*) as n from approvals where plan_id = ?', [plan.id]);
      assert.equal(Number(votes[0].n), 1);
      const denied = await rawSql(s, "select details from audit_log where action = 'plan.reject' and outcome = 'denied' and resource = ?", [
        `plan:${plan.id}`,
      ]);
      assert.equal(JSON.parse(denied[0].details).code, 'REVIEW_REPLAYED');
    });

    test('a token minted for one plan cannot review another', async () => {
      const { cookie, csrf } = await signIn(reviewer.key);
      const a = (await s.request('POST', '/v1/plans', { body: echoPlan('a', 'staging') })).body;
      const b = (await s.request('POST', '/v1/plans', { body: echoPlan('b', 'staging') })).body;
      const page = (await (await get(`/console/api/plans/${a.id}`, cookie)).json()) as any;
      const res = await post(`/console/api/plans/${b.id}/review`, {
        cookie,
        body: { decision: 'approve', planHash: b.hash, reviewToken: page.reviewToken },
        headers: { origin, 'x-csrf-token': csrf },
      });
      assert.equal(res.status, 409);
    });

    test('sign-out ends the session on the server: the old cookie is dead', async () => {
      const { cookie, csrf } = await signIn(reviewer.key);
      assert.equal((await get('/console/api/session', cookie)).status, 200);
      const out = await post('/console/auth/sign-out', { cookie, headers: { origin, 'x-csrf-token': csrf } });
      assert.equal(out.status, 204);
      assert.equal((await get('/console/api/session', cookie)).status, 401);
    });

    test('idle and absolute expiry end a session', async () => {
      const idle = await signIn(reviewer.key);
      clock.advance(31 * 60_000);
      assert.equal((await get('/console/api/session', idle.cookie)).status, 401, 'idle 31 min');
      const busy = await signIn(reviewer.key);
      for (let i = 0; i < 2; i++) {
        clock.advance(25 * 60_000);
        assert.equal((await get('/console/api/session', busy.cookie)).status, 200, 'active');
      }
      clock.advance(25 * 60_000);
      assert.equal((await get('/console/api/session', busy.cookie)).status, 401, 'past the absolute hour');
    });

    test('revoking the API key a session signed in with ends the session', async () => {
      const fresh = (await s.request('POST', `/v1/principals/${reviewer.id}/keys`, { body: {} })).body;
      const { cookie } = await signIn(fresh.key);
      assert.equal((await s.request('POST', `/v1/keys/${fresh.id}/revoke`)).status, 200);
      assert.equal((await get('/console/api/session', cookie)).status, 401);
    });

    test('the audit explorer’s chain verification reports an edited entry', async () => {
      const auditor = await addPrincipal(s, 'audrey', 'human', ['auditor']);
      const { cookie } = await signIn(auditor.key);
      const refused = await get('/console/api/audit/verify', (await signIn(reviewer.key)).cookie);
      assert.equal(refused.status, 403, 'decided as audit.read: a reviewer without it is refused');
      const before = (await (await get('/console/api/audit/verify', cookie)).json()) as any;
      assert.equal(before.ok, true, JSON.stringify(before));
      await rawSql(s, 'update audit_log set details = \'{"edited":true}\' where seq = 3');
      const after = (await (await get('/console/api/audit/verify', cookie)).json()) as any;
      assert.equal(after.ok, false);
      assert.equal(after.firstBadSeq, 3);
      assert.equal(after.problem, 'modified');
    });
  });

describe('console sign-in is rate limited per address', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(ENGINES[0]!, {
      rateLimit: true,
      configure: (dir) => {
        const file = join(dir, 'countersign.yaml');
        const doc = parseDocument(readFileSync(file, 'utf8'));
        doc.setIn(['rateLimit', 'perAddressPerMinute'], 5);
        writeFileSync(file, doc.toString());
        writeConsoleConfig(dir, { apiKeySignIn: true });
      },
    });
  });
  after(async () => s?.close());

  test('guessing keys at the sign-in form is cut off like any other flood', async () => {
    const origin = new URL(s.url).origin;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${s.url}/console/auth/key`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin },
        body: JSON.stringify({ key: `csk_guess${i}_nothing` }),
      });
      statuses.push(res.status);
    }
    assert.ok(statuses.includes(429), `statuses: ${statuses.join(', ')}`);
  });
});
