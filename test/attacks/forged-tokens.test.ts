// Invariant 15 (authentication): a bearer JWT is accepted only with a valid signature by the
// configured IdP's key, a pinned asymmetric alg, the right issuer and audience, inside its
// validity window and for a known subject; the JWKS is only ever fetched from an allowlisted
// https host that is not private, loopback or link-local — at start and at every fetch. Every
// refusal is a 401 and an audited `auth.authenticate` denied entry carrying its reason.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, importJWK, type JWTPayload, SignJWT } from 'jose';
import { createAuthenticator, type Resolver } from '../../src/auth/index.ts';
import { parseConfig } from '../../src/config/index.ts';
import { openServerContext } from '../../src/server/context.ts';
import {
  initTestDir,
  type OidcTestServer,
  oidcSectionFor,
  startOidcServer,
  startTestIdp,
  TEST_AUDIENCE,
  type TestIdp,
  writeOidcConfig,
} from '../support/oidc.ts';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('forged bearer JWTs', () => {
  let idp: TestIdp;
  let s: OidcTestServer;
  let attacker: { privateKey: CryptoKey; publicKey: CryptoKey };

  const claims = (over: JWTPayload = {}): JWTPayload => ({
    iss: idp.issuer,
    aud: TEST_AUDIENCE,
    sub: 'ci-bot',
    iat: now(),
    exp: now() + 300,
    ...over,
  });
  const sign = (payload: JWTPayload, key: Parameters<SignJWT['sign']>[0] = idp.privateKey, header: Record<string, unknown> = {}) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: idp.kid, ...header }).sign(key);

  before(async () => {
    idp = await startTestIdp([
      { id: 'ci-bot', secret: 'ci-bot-secret-0123456789abcdef' },
      { id: 'stranger', secret: 'stranger-secret-0123456789abcdef' },
    ]);
    s = await startOidcServer(oidcSectionFor(idp));
    await s.addPrincipal('ci-bot', 'agent', ['agent']);
    attacker = await generateKeyPair('EdDSA', { extractable: true });
  });
  after(async () => {
    await s?.close();
    await idp?.close();
  });

  test('control: the same server accepts a real access token from the provider', async () => {
    const res = await s.request('GET', '/v1/plans', await idp.clientCredentialsToken('ci-bot', TEST_AUDIENCE));
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  const cases: [string, () => Promise<string>, string][] = [
    ['alg: none (no signature)', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`, 'alg_not_allowed'],
    [
      'HS256 signed with the provider public key as HMAC secret (HS/RS confusion)',
      async () => {
        const pem = await exportSPKI((await importJWK(idp.publicJwk, 'EdDSA', { extractable: true })) as CryptoKey);
        return sign(claims(), new TextEncoder().encode(pem), { alg: 'HS256' });
      },
      'alg_not_allowed',
    ],
    [
      'HS256 signed with the published JWKS bytes',
      async () => sign(claims(), new TextEncoder().encode(JSON.stringify({ keys: [idp.publicJwk] })), { alg: 'HS256' }),
      'alg_not_allowed',
    ],
    ['an attacker key presenting the provider kid', async () => sign(claims(), attacker.privateKey), 'bad_signature'],
    [
      'a real token whose payload was edited (sub → admin)',
      async () => {
        const [h, , sig] = (await idp.clientCredentialsToken('ci-bot', TEST_AUDIENCE)).split('.');
        return `${h}.${b64({ ...claims(), sub: 'admin' })}.${sig}`;
      },
      'bad_signature',
    ],
    ['an unknown kid', async () => sign(claims(), attacker.privateKey, { kid: 'attacker-key' }), 'unknown_kid'],
    [
      'the attacker key embedded in the header (jwk) and a jku to its own key set',
      async () => {
        const { d: _private, ...jwk } = await exportJWK(attacker.privateKey);
        return sign(claims(), attacker.privateKey, { kid: 'attacker-key', jwk, jku: 'https://attacker.example/jwks.json' });
      },
      'unknown_kid',
    ],
    ['an expired token', async () => sign(claims({ iat: now() - 7200, exp: now() - 3600 })), 'expired'],
    ['a token not valid before an hour from now', async () => sign(claims({ nbf: now() + 3600 })), 'not_yet_valid'],
    // Signed by the provider's published key: only the clock check stands between it and a login.
    [
      'a token issued an hour in the future by the provider key',
      async () => sign(claims({ iat: now() + 3600, exp: now() + 7200 })),
      'issued_in_future',
    ],
    ['a token without exp (would never expire)', async () => sign(claims({ exp: undefined })), 'missing_expiry'],
    ['a token without sub', async () => sign(claims({ sub: undefined })), 'missing_subject'],
    ['a real token for another audience', () => idp.clientCredentialsToken('ci-bot', 'https://other-service.example'), 'wrong_audience'],
    ['a token from another issuer signed with the provider key', async () => sign(claims({ iss: 'https://evil.example' })), 'wrong_issuer'],
    ['a real token for a subject that is not a principal', () => idp.clientCredentialsToken('stranger', TEST_AUDIENCE), 'unknown_subject'],
  ];

  for (const [name, token, reason] of cases) {
    test(`refuses ${name}: 401 and audited as ${reason}`, async () => {
      const head = await s.auditHead();
      const res = await s.request('GET', '/v1/plans', await token());
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'UNAUTHENTICATED');
      assert.equal(res.body.error.details, undefined, 'the reason is audited, not told to the caller');
      assert.deepEqual(await s.deniedReasonsAfter(head), [reason]);
    });
  }
});

describe('JWKS URLs that point inside the network', () => {
  // One data directory for the config refusals: each test rewrites its `oidc` section.
  let d: Awaited<ReturnType<typeof initTestDir>>;
  before(async () => {
    d = await initTestDir();
  });
  after(() => d?.remove());

  /** Refuses the start of a server whose countersign.yaml holds `oidc`; returns the message. */
  async function startRefused(oidc: Record<string, unknown>): Promise<string> {
    writeOidcConfig(d.dir, oidc);
    const err = await openServerContext(d.dir).then(
      async (ctx) => {
        await ctx.close();
        return null;
      },
      (e: unknown) => e as { code?: string; message: string },
    );
    assert.ok(err, 'the server started');
    assert.equal(err.code, 'CONFIG_INVALID');
    return err.message;
  }
  const public_ = { issuer: 'https://idp.example.com/', audience: TEST_AUDIENCE };

  test('refuses at config load a JWKS URL at 127.0.0.1', async () => {
    const msg = await startRefused({ ...public_, jwksUrl: 'https://127.0.0.1/jwks', jwksAllowlist: ['127.0.0.1'] });
    assert.match(msg, /oidc\.jwksUrl: address 127\.0\.0\.1 is loopback/);
  });

  test('refuses at config load a JWKS URL at 169.254.169.254 (cloud metadata), in any spelling', async () => {
    for (const host of ['169.254.169.254', '0xa9fea9fe', '[::ffff:169.254.169.254]']) {
      const msg = await startRefused({
        ...public_,
        jwksUrl: `https://${host}/latest/meta-data`,
        jwksAllowlist: ['169.254.169.254', '[::ffff:a9fe:a9fe]'],
      });
      assert.match(msg, /oidc\.jwksUrl: address .* is (link-local|IPv4-mapped)/, host);
    }
  });

  test('refuses at config load a JWKS URL with the http scheme', async () => {
    const msg = await startRefused({ ...public_, jwksUrl: 'http://idp.example.com/jwks', jwksAllowlist: ['idp.example.com'] });
    assert.match(msg, /oidc\.jwksUrl: scheme http is refused/);
  });

  test('refuses at config load a JWKS host that is not on the allowlist', async () => {
    const msg = await startRefused({ ...public_, jwksUrl: 'https://attacker.example/jwks', jwksAllowlist: ['idp.example.com'] });
    assert.match(msg, /oidc\.jwksUrl: host attacker\.example is not on oidc\.jwksAllowlist/);
  });

  test('refuses at config load HS256 or none among the algorithms', async () => {
    for (const alg of ['HS256', 'none']) {
      const msg = await startRefused({
        ...public_,
        jwksUrl: 'https://idp.example.com/jwks',
        jwksAllowlist: ['idp.example.com'],
        algorithms: ['EdDSA', alg],
      });
      assert.match(msg, /oidc\.algorithms\.1: only asymmetric algorithms are allowed/);
    }
  });

  test('refuses at start an allowlisted name that resolves to loopback (localhost)', async () => {
    const msg = await startRefused({ ...public_, jwksUrl: 'https://localhost/jwks', jwksAllowlist: ['localhost'] });
    assert.match(msg, /oidc\.jwksUrl: host localhost resolves to .*, which is loopback/);
  });

  /** An allowlisted name whose DNS answers `first` at start and `later` afterwards (rebinding). */
  const rebinding = (first: string, later: string) => {
    const asked: string[] = [];
    const resolver: Resolver = async (host) => {
      asked.push(host);
      const address = asked.length === 1 ? first : later;
      return [{ address, family: address.includes(':') ? 6 : 4 }];
    };
    return { resolver, asked };
  };
  const rebindingOidc = {
    issuer: 'https://idp.rebind.test',
    audience: TEST_AUDIENCE,
    jwksUrl: 'https://idp.rebind.test/jwks',
    jwksAllowlist: ['idp.rebind.test'],
  };

  test('refuses at start an allowlisted name that resolves to 169.254.169.254', async () => {
    const s = await startOidcServer(null);
    try {
      const { resolver } = rebinding('169.254.169.254', '169.254.169.254');
      const settings = parseConfig(JSON.stringify({ oidc: rebindingOidc })).oidc;
      await assert.rejects(
        createAuthenticator({ store: s.ctx.store, runtime: s.ctx.runtime, oidc: settings, resolver }),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'CONFIG_INVALID');
          assert.match(err.message, /resolves to 169\.254\.169\.254, which is link-local/);
          return true;
        },
      );
    } finally {
      await s.close();
    }
  });

  for (const target of ['169.254.169.254', '127.0.0.1', '::1']) {
    test(`refuses at fetch when the JWKS name rebinds to ${target} after start: 401 jwks_url_refused`, async () => {
      const { resolver, asked } = rebinding('93.184.215.14', target);
      const s = await startOidcServer(rebindingOidc, { resolver });
      try {
        const { privateKey } = await generateKeyPair('EdDSA');
        const token = await new SignJWT({ sub: 'admin', iss: rebindingOidc.issuer, aud: TEST_AUDIENCE, exp: now() + 60 })
          .setProtectedHeader({ alg: 'EdDSA', kid: 'k' })
          .sign(privateKey);
        const head = await s.auditHead();
        const res = await s.request('GET', '/v1/plans', token);
        assert.equal(res.status, 401);
        assert.deepEqual(await s.deniedReasonsAfter(head), ['jwks_url_refused']);
        assert.ok(asked.length >= 2, 'DNS was asked again at fetch time');
      } finally {
        await s.close();
      }
    });
  }
});
