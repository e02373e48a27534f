import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refusedAddressKind } from './address-policy.ts';

const refused: [string, string][] = [
  ['127.0.0.1', 'loopback'],
  ['127.255.0.9', 'loopback'],
  ['10.1.2.3', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['169.254.169.254', 'link-local'],
  ['100.64.0.1', 'carrier-grade NAT'],
  ['0.0.0.0', 'unspecified'],
  ['224.0.0.1', 'multicast'],
  ['255.255.255.255', 'reserved'],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['fc00::1', 'unique local (private)'],
  ['fd12:3456::1', 'unique local (private)'],
  ['fe80::1', 'link-local'],
  ['ff02::1', 'multicast'],
  ['::ffff:169.254.169.254', 'IPv4-mapped'],
  ['::ffff:7f00:1', 'IPv4-mapped'],
  ['64:ff9b::a9fe:a9fe', 'not global unicast'],
  ['2002:a9fe:a9fe::1', '6to4 tunnel'],
  ['2001:0:4136:e378::1', 'Teredo tunnel'],
  ['localhost', 'not an IP address'],
  ['', 'not an IP address'],
];

for (const [address, kind] of refused) {
  test(`refuses ${address || '(empty)'} as ${kind}`, () => assert.equal(refusedAddressKind(address), kind));
}

for (const address of ['93.184.215.14', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '[2a00:1450:4001::200e]']) {
  test(`allows the public address ${address}`, () => assert.equal(refusedAddressKind(address), null));
}
