// OIDC bearer JWTs end to end (issue 3, item 3): real access tokens from a real OpenID provider
// (oidc-provider on loopback) against the real Countersign API. Authentication does not depend
// on the storage engine, so these run on SQLite only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type JWTPayload, SignJWT } from 'jose';
import type { Resolver } from '../src/auth/index.ts';
import { openServerContext } from '../src/server/context.ts';
import {
  initTestDir,
  type OidcTestServer,
  oidcSectionFor,
  startOidcServer,
  startTestIdp,
  TEST_AUDIENCE,
  type TestIdp,
  writeOidcConfig,
} from './support/oidc.ts';
import { echoPlan } from './support/server.ts';

const now = () => Math.floor(Date.now() / 1000);

describe('OIDC bearer JWTs from a real provider', () => {
  let idp: TestIdp;
  let s: OidcTestServer;
  const ids: Record<string, string> = {};
  const token = (client: string) => idp.clientCredentialsToken(client, TEST_AUDIENCE);
  const signed = (claims: JWTPayload, typ = 'at+jwt') =>
    new SignJWT({ iss: idp.issuer, aud: TEST_AUDIENCE, sub: 'ci-bot', iat: now(), exp: now() + 300, ...claims })
      .setProtectedHeader({ alg: 'EdDSA', typ, kid: idp.kid })
      .sign(idp.privateKey);

  before(async () => {
    idp = await startTestIdp([
      { id: 'ci-bot', secret: 'ci-bot-secret-0123456789abcdef' },
      { id: 'ops-bot', secret: 'ops-bot-secret-0123456789abcdef', groups: ['operator', 'admin'] },
      { id: 'demoted', secret: 'demoted-secret-0123456789abcdef', groups: [] },
      { id: 'gone', secret: 'gone-secret-0123456789abcdef' },
    ]);
    s = await startOidcServer(oidcSectionFor(idp, { delegatedGroups: ['operator'], requiredTokenType: 'at+jwt', clockSkewSeconds: 30 }));
    ids['ci-bot'] = await s.addPrincipal('ci-bot', 'agent', ['agent']);
    // Stored 'auditor' is not delegated, so it holds; 'admin' in its token is not delegated, so it does not.
    ids['ops-bot'] = await s.addPrincipal('ops-bot', 'human', ['auditor']);
    // Stored 'operator' is delegated to the IdP, whose token no longer lists it.
    ids.demoted = await s.addPrincipal('demoted', 'human', ['operator']);
    ids.gone = await s.addPrincipal('gone', 'human', ['admin'], true);
  });
  after(async () => {
    await s?.close();
    await idp?.close();
  });

  test('accepts a real access token and acts as the principal named by sub', async () => {
    const res = await s.request('POST', '/v1/plans', await token('ci-bot'), echoPlan());
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.proposer, ids['ci-bot']);
  });

  test('keeps API keys working next to OIDC', async () => {
    assert.equal((await s.request('GET', '/v1/plans', s.init.adminKey)).status, 200);
  });

  test('takes delegated groups from the token and all others from the stored principal', async () => {
    const t = await token('ops-bot');
    assert.equal((await s.request('POST', '/v1/plans', t, echoPlan())).status, 201, 'operator, delegated, from the token');
    assert.equal((await s.request('GET', '/v1/audit', t)).status, 200, 'auditor, stored');
  });

  test('does not let the token mint a non-delegated group such as admin', async () => {
    const t = await signed({ sub: 'ci-bot', groups: ['admin', 'approver'] });
    const res = await s.request('GET', '/v1/audit', t);
    assert.equal(res.status, 403, JSON.stringify(res.body));
  });

  test('drops a delegated group the IdP no longer lists, even if it is stored', async () => {
    const res = await s.request('POST', '/v1/plans', await token('demoted'), echoPlan());
    assert.equal(res.status, 403, JSON.stringify(res.body));
  });

  test('refuses a disabled principal', async () => {
    const head = await s.auditHead();
    assert.equal((await s.request('GET', '/v1/plans', await token('gone'))).status, 401);
    assert.deepEqual(await s.deniedReasonsAfter(head), ['disabled']);
  });

  test('accepts a token expired within the clock skew and refuses one beyond it', async () => {
    assert.equal((await s.request('GET', '/v1/plans', await signed({ exp: now() - 10 }))).status, 200);
    const head = await s.auditHead();
    assert.equal((await s.request('GET', '/v1/plans', await signed({ exp: now() - 60 }))).status, 401);
    assert.deepEqual(await s.deniedReasonsAfter(head), ['expired']);
  });

  test('accepts a token issued within the clock skew ahead and refuses one issued beyond it', async () => {
    assert.equal((await s.request('GET', '/v1/plans', await signed({ iat: now() + 10 }))).status, 200);
    const head = await s.auditHead();
    assert.equal((await s.request('GET', '/v1/plans', await signed({ iat: now() + 3600, exp: now() + 7200 }))).status, 401);
    assert.deepEqual(await s.deniedReasonsAfter(head), ['issued_in_future']);
  });

  test('refuses a JWT of another type (an ID token is not an access token) when a typ is required', async () => {
    const head = await s.auditHead();
    assert.equal((await s.request('GET', '/v1/plans', await signed({}, 'JWT'))).status, 401);
    assert.deepEqual(await s.deniedReasonsAfter(head), ['wrong_token_type']);
  });

  test('refuses a groups claim of the wrong shape', async () => {
    const head = await s.auditHead();
    assert.equal((await s.request('GET', '/v1/plans', await signed({ groups: 'operator' }))).status, 401);
    assert.deepEqual(await s.deniedReasonsAfter(head), ['bad_claims']);
  });

  test('refuses any JWT when no oidc section is configured (no JWKS, no JWT login)', async () => {
    const plain = await startOidcServer(null);
    try {
      const head = await plain.auditHead();
      assert.equal((await plain.request('GET', '/v1/plans', await token('ci-bot'))).status, 401);
      assert.deepEqual(await plain.deniedReasonsAfter(head), ['jwt_not_configured']);
    } finally {
      await plain.close();
    }
  });

  test('refuses to start with the same loopback provider when allowPrivateAddresses is not set', async () => {
    const d = await initTestDir();
    try {
      const https = idp.jwksUrl.replace('http:', 'https:');
      for (const [jwksUrl, why] of [
        [idp.jwksUrl, /oidc\.jwksUrl: scheme http is refused/],
        [https, /oidc\.jwksUrl: address 127\.0\.0\.1 is loopback/],
      ] as const) {
        writeOidcConfig(d.dir, oidcSectionFor(idp, { issuer: 'https://idp.example.com/', jwksUrl, allowPrivateAddresses: false }));
        await assert.rejects(
          openServerContext(d.dir),
          (err: Error & { code?: string }) => err.code === 'CONFIG_INVALID' && why.test(err.message),
        );
      }
    } finally {
      d.remove();
    }
  });

  test('fetches the JWKS through the guarded lookup, connecting to the address it approved', async () => {
    const port = new URL(idp.issuer).port;
    const asked: string[] = [];
    const resolver: Resolver = async (host) => {
      asked.push(host);
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const named = await startOidcServer(
      oidcSectionFor(idp, { jwksUrl: `http://idp.local.test:${port}/jwks`, jwksAllowlist: ['idp.local.test'] }),
      { resolver },
    );
    try {
      await named.addPrincipal('ci-bot', 'agent', ['agent']);
      assert.equal((await named.request('GET', '/v1/plans', await token('ci-bot'))).status, 200);
      assert.deepEqual([...new Set(asked)], ['idp.local.test']);
      assert.ok(asked.length >= 2, 'resolved at start and again at fetch');
    } finally {
      await named.close();
    }
  });
});
