import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyAddress, decideEgress, parseEgressRules, type Resolver } from './egress-policy.ts';

const dns: Record<string, string[]> = {
  'api.example.com': ['93.184.216.34'],
  'deep.api.example.com': ['93.184.216.35'],
  'internal.example.com': ['10.1.2.3'],
  'mixed.example.com': ['93.184.216.36', '192.168.1.1'],
  'meta.example.com': ['169.254.169.254'],
  'v6meta.example.com': ['::ffff:169.254.169.254'],
  'db.corp': ['10.0.0.5'],
};
const resolve: Resolver = async (host) => {
  const addresses = dns[host];
  if (!addresses) throw new Error('ENOTFOUND');
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};
const rules = parseEgressRules(['api.example.com:443', '*.example.com:443', 'db.corp:5432', '127.0.0.2:8080', 'meta.example.com:80']);
const decide = (host: string, port: number) => decideEgress(host, port, rules, resolve);

describe('decideEgress', () => {
  it('allows exact and wildcard entries on their port and connects to the resolved address', async () => {
    assert.deepEqual(await decide('api.example.com', 443), { allow: true, address: '93.184.216.34', family: 4 });
    assert.deepEqual(await decide('DEEP.api.example.com.', 443), { allow: true, address: '93.184.216.35', family: 4 });
    assert.deepEqual(await decide('127.0.0.2', 8080), { allow: true, address: '127.0.0.2', family: 4 });
    assert.deepEqual(await decide('db.corp', 5432), { allow: true, address: '10.0.0.5', family: 4 });
  });

  it('refuses what no entry names: other ports, the bare wildcard domain, lookalikes', async () => {
    assert.deepEqual(await decide('api.example.com', 80), { allow: false, reason: 'not-allowlisted' });
    assert.deepEqual(await decide('example.com', 443), { allow: false, reason: 'not-allowlisted' });
    assert.deepEqual(await decide('api.example.com.evil.net', 443), { allow: false, reason: 'not-allowlisted' });
    assert.deepEqual(await decide('evilexample.com', 443), { allow: false, reason: 'not-allowlisted' });
  });

  it('refuses IP literals unless exactly listed, including numeric spellings', async () => {
    for (const host of ['127.0.0.1', '10.0.0.5', '169.254.169.254', '[::1]', '2130706433', '127.1', '0x7f.0.0.1']) {
      assert.deepEqual(await decide(host, 8080), { allow: false, reason: 'ip-literal-not-listed' }, host);
    }
  });

  it('refuses a wildcard name that resolves to a private or metadata address (rebinding)', async () => {
    assert.deepEqual(await decide('internal.example.com', 443), { allow: false, reason: 'private-address' });
    assert.deepEqual(await decide('mixed.example.com', 443), { allow: false, reason: 'private-address' });
    assert.deepEqual(await decide('v6meta.example.com', 443), { allow: false, reason: 'metadata-address' });
  });

  it('never reaches a metadata address through a name, even an exact entry', async () => {
    assert.deepEqual(await decide('meta.example.com', 80), { allow: false, reason: 'metadata-address' });
  });

  it('reports DNS failures and malformed targets as denials', async () => {
    assert.deepEqual(await decide('nx.example.com', 443), { allow: false, reason: 'dns-failed' });
    assert.deepEqual(await decide('bad_host!.example.com', 443), { allow: false, reason: 'malformed-target' });
    assert.deepEqual(await decide('api.example.com', 0), { allow: false, reason: 'malformed-target' });
  });
});

describe('classifyAddress', () => {
  it('classifies public, private, loopback, link-local, mapped and metadata addresses', () => {
    assert.equal(classifyAddress('93.184.216.34'), 'public');
    assert.equal(classifyAddress('2606:2800:220:1::1'), 'public');
    for (const a of [
      '10.0.0.1',
      '172.16.5.4',
      '192.168.0.1',
      '127.0.0.1',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd12::1',
      '::ffff:10.0.0.1',
      '::ffff:7f00:1',
    ]) {
      assert.equal(classifyAddress(a), 'non-public', a);
    }
    for (const a of ['169.254.169.254', 'fd00:ec2::254', '::ffff:169.254.169.254', '100.100.100.200'])
      assert.equal(classifyAddress(a), 'metadata', a);
  });
});
