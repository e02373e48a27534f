import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CryptoKey, createLocalJWKSet, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { JwksUrlRefused } from './jwks-url.ts';
import { effectiveGroups, effectiveKind, type OidcSettings, OidcVerifier, readIdentity } from './oidc.ts';
import { type OidcFailure, reasonForVerificationError } from './oidc-failure.ts';

const settings: OidcSettings = {
  issuer: 'https://idp.example.com/',
  audience: 'https://countersign.example.com',
  jwksUrl: 'https://idp.example.com/jwks',
  jwksAllowlist: ['idp.example.com'],
  algorithms: ['EdDSA', 'ES256', 'RS256'],
  clockSkewSeconds: 30,
  tenant: 'default',
  groupsClaim: 'groups',
  delegatedGroups: [],
  allowPrivateAddresses: false,
};
const at = new Date('2030-01-01T00:00:00Z');
const t = Math.floor(at.getTime() / 1000);

describe('effectiveGroups', () => {
  test('keeps stored groups that are not delegated and ignores them in the token', () => {
    assert.deepEqual(effectiveGroups(['admin', 'auditor'], ['admin', 'operator'], []), ['admin', 'auditor']);
    assert.deepEqual(effectiveGroups([], ['admin'], ['operator']), []);
  });
  test('takes delegated groups from the token only, both to add and to remove', () => {
    assert.deepEqual(effectiveGroups(['auditor'], ['operator'], ['operator']), ['auditor', 'operator']);
    assert.deepEqual(effectiveGroups(['operator', 'auditor'], [], ['operator']), ['auditor']);
  });
});

test('effectiveKind lets a token lower a human to an agent, never raise an agent', () => {
  assert.equal(effectiveKind('human', undefined), 'human');
  assert.equal(effectiveKind('human', 'agent'), 'agent');
  assert.equal(effectiveKind('agent', 'human'), 'agent');
});

describe('readIdentity', () => {
  const read = (p: JWTPayload) => readIdentity(p, { groupsClaim: 'groups', principalKindClaim: 'kind' });
  const refuses = (p: JWTPayload, reason: string) =>
    assert.throws(
      () => read(p),
      (e: OidcFailure) => e.reason === reason,
    );
  test('reads sub, de-duplicated groups and kind', () => {
    assert.deepEqual(read({ sub: 'alice', groups: ['a', 'a', 'b'], kind: 'agent' }), {
      subject: 'alice',
      claimGroups: ['a', 'b'],
      claimKind: 'agent',
    });
    assert.deepEqual(read({ sub: 'alice' }), { subject: 'alice', claimGroups: [], claimKind: undefined });
  });
  test('refuses claims of the wrong shape', () => {
    refuses({ sub: '' }, 'missing_subject');
    refuses({ sub: 'a\nb' }, 'missing_subject');
    refuses({ sub: 'x'.repeat(256) }, 'missing_subject');
    refuses({ sub: 'a', groups: 'admin' as unknown as string[] }, 'bad_claims');
    refuses({ sub: 'a', groups: [1] as unknown as string[] }, 'bad_claims');
    refuses({ sub: 'a', groups: Array.from({ length: 257 }, (_, i) => `g${i}`) }, 'bad_claims');
    refuses({ sub: 'a', kind: 'root' }, 'bad_claims');
  });
});

describe('OidcVerifier', () => {
  async function keySet(count: number, withKid: boolean) {
    const keys: { privateKey: CryptoKey; jwk: JWK }[] = [];
    for (let i = 0; i < count; i++) {
      const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
      keys.push({ privateKey, jwk: { ...(await exportJWK(publicKey)), ...(withKid ? { kid: `k${i}` } : {}), alg: 'EdDSA' } });
    }
    return { keys, verifier: new OidcVerifier(settings, createLocalJWKSet({ keys: keys.map((k) => k.jwk) }), () => at) };
  }
  const claims = (over: JWTPayload = {}) => ({ iss: settings.issuer, aud: settings.audience, sub: 'alice', iat: t, exp: t + 60, ...over });

  test('refuses to be built with an HMAC or none algorithm', () => {
    for (const alg of ['HS256', 'none']) {
      assert.throws(
        () => new OidcVerifier({ ...settings, algorithms: ['EdDSA', alg] }, createLocalJWKSet({ keys: [] }), () => at),
        TypeError,
      );
    }
  });

  test('uses the injected clock for exp and nbf, with the configured tolerance', async () => {
    const { keys, verifier } = await keySet(1, true);
    const sign = (p: JWTPayload) => new SignJWT(p).setProtectedHeader({ alg: 'EdDSA', kid: 'k0' }).sign(keys[0]!.privateKey);
    assert.equal((await verifier.verify(await sign(claims({ exp: t - 29 })))).subject, 'alice');
    await assert.rejects(verifier.verify(await sign(claims({ exp: t - 31 }))), (e: OidcFailure) => e.reason === 'expired');
    await assert.rejects(verifier.verify(await sign(claims({ nbf: t + 31 }))), (e: OidcFailure) => e.reason === 'not_yet_valid');
  });

  test('refuses a token issued in the future beyond the tolerance, on the injected clock', async () => {
    const { keys, verifier } = await keySet(1, true);
    const sign = (p: JWTPayload) => new SignJWT(p).setProtectedHeader({ alg: 'EdDSA', kid: 'k0' }).sign(keys[0]!.privateKey);
    assert.equal((await verifier.verify(await sign(claims({ iat: t + 30 })))).subject, 'alice');
    await assert.rejects(verifier.verify(await sign(claims({ iat: t + 31 }))), (e: OidcFailure) => e.reason === 'issued_in_future');
    await assert.rejects(
      verifier.verify(await sign(claims({ iat: t + 3600, exp: t + 7200 }))),
      (e: OidcFailure) => e.reason === 'issued_in_future',
    );
  });

  test('refuses a token without kid when several keys could match', async () => {
    const { keys, verifier } = await keySet(2, false);
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA' }).sign(keys[0]!.privateKey);
    await assert.rejects(verifier.verify(token), (e: OidcFailure) => e.reason === 'ambiguous_key');
  });

  test('refuses an allowed alg that does not match the key under that kid', async () => {
    const { verifier } = await keySet(1, true);
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: 'k0' }).sign(privateKey);
    await assert.rejects(verifier.verify(token), (e: OidcFailure) => e.reason === 'unknown_kid');
  });
});

test('reasonForVerificationError fails closed on anything it does not know', () => {
  assert.equal(reasonForVerificationError(new JwksUrlRefused('x')), 'jwks_url_refused');
  assert.equal(reasonForVerificationError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), 'jwks_unavailable');
  assert.equal(reasonForVerificationError(new TypeError('boom')), 'verification_error');
  assert.equal(reasonForVerificationError('a string'), 'verification_error');
});
