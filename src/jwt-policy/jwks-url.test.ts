import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { checkJwksUrl, guardedJwksFetch, JwksUrlRefused, jwksUrlProblem, type Resolver } from './jwks-url.ts';

const strict = { allowlist: ['idp.example.com'], allowPrivateAddresses: false };
const resolvesTo =
  (...addresses: string[]): Resolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
const init = () => ({ headers: new Headers(), method: 'GET' as const, redirect: 'manual' as const, signal: AbortSignal.timeout(2000) });

describe('jwksUrlProblem', () => {
  const cases: [string, RegExp | null][] = [
    ['https://idp.example.com/jwks', null],
    ['https://IDP.example.com./jwks', null],
    ['http://idp.example.com/jwks', /scheme http is refused/],
    ['file:///etc/passwd', /scheme file is refused/],
    ['https://user:pw@idp.example.com/jwks', /credentials/],
    ['https://idp.example.com.attacker.net/jwks', /not on oidc.jwksAllowlist/],
    ['not a url', /not a valid URL/],
  ];
  for (const [url, problem] of cases) {
    test(`${problem ? 'refuses' : 'accepts'} ${url}`, () => {
      const got = jwksUrlProblem(url, strict);
      if (problem) assert.match(got ?? '', problem);
      else assert.equal(got, null);
    });
  }
  test('refuses allowlisted IP literals in private ranges unless allowPrivateAddresses', () => {
    const policy = { allowlist: ['10.0.0.5'], allowPrivateAddresses: false };
    assert.match(jwksUrlProblem('https://10.0.0.5/jwks', policy) ?? '', /is private/);
    assert.equal(jwksUrlProblem('https://10.0.0.5/jwks', { ...policy, allowPrivateAddresses: true }), null);
  });
});

describe('checkJwksUrl (start)', () => {
  test('refuses a name with any private answer, even next to a public one', async () => {
    await assert.rejects(checkJwksUrl('https://idp.example.com/jwks', strict, resolvesTo('93.184.215.14', '10.0.0.1')), JwksUrlRefused);
  });
  test('accepts a name with only public answers', async () => {
    await checkJwksUrl('https://idp.example.com/jwks', strict, resolvesTo('93.184.215.14', '2606:4700::1'));
  });
});

describe('guardedJwksFetch', () => {
  let server: Server;
  let port = 0;
  let reply: (res: import('node:http').ServerResponse) => void = (res) => res.end('{"keys":[]}');
  before(async () => {
    server = createServer((_req, res) => reply(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const dev = { allowlist: ['idp.local.test'], allowPrivateAddresses: true };

  test('refuses before connecting when the name resolves to a private address', async () => {
    const fetchJwks = guardedJwksFetch({ allowlist: ['idp.local.test'], allowPrivateAddresses: false }, resolvesTo('127.0.0.1'));
    // https is required here; the refusal comes from the lookup, before any TLS.
    await assert.rejects(fetchJwks(`https://idp.local.test:${port}/jwks`, init()), JwksUrlRefused);
  });

  test('refuses a URL the static rules refuse, without resolving it', async () => {
    let asked = 0;
    const fetchJwks = guardedJwksFetch(strict, async () => {
      asked++;
      return [];
    });
    await assert.rejects(fetchJwks('http://idp.example.com/jwks', init()), /scheme http/);
    await assert.rejects(fetchJwks('https://169.254.169.254/jwks', init()), /not on oidc.jwksAllowlist/);
    assert.equal(asked, 0);
  });

  test('connects to the approved address and returns the body', async () => {
    reply = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    const res = await guardedJwksFetch(dev, resolvesTo('127.0.0.1'))(`http://idp.local.test:${port}/jwks`, init());
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { keys: [] });
  });

  test('does not follow redirects (jose then refuses the non-200)', async () => {
    reply = (res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end();
    const res = await guardedJwksFetch(dev, resolvesTo('127.0.0.1'))(`http://idp.local.test:${port}/jwks`, init());
    assert.equal(res.status, 302);
  });

  test('refuses a response larger than a JWKS can be', async () => {
    reply = (res) => res.writeHead(200).end(Buffer.alloc(600 * 1024, 0x20));
    await assert.rejects(guardedJwksFetch(dev, resolvesTo('127.0.0.1'))(`http://idp.local.test:${port}/jwks`, init()), /exceeds/);
  });
});
