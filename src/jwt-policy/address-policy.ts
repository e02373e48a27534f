import { BlockList, isIP } from 'node:net';

/**
 * Which IP addresses a server-side fetch (the JWKS) may connect to. Invariant 15: private,
 * loopback and link-local addresses are refused unless configured, so a JWKS URL cannot be used
 * to reach the cloud metadata service (169.254.169.254), the host itself or the internal network.
 *
 * IPv4 is a deny list of the special-purpose ranges (RFC 6890). IPv6 is an allow list: only
 * global unicast (2000::/3) passes, which also refuses IPv4-mapped (::ffff:a.b.c.d), NAT64,
 * unique-local, link-local, loopback, multicast and unspecified addresses in one rule.
 */
interface Rule {
  list: BlockList;
  label: string;
}

function rule(network: string, prefix: number, family: 'ipv4' | 'ipv6', label: string): Rule {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return { list, label };
}

const IPV4_REFUSED: readonly Rule[] = [
  rule('0.0.0.0', 8, 'ipv4', 'unspecified'),
  rule('10.0.0.0', 8, 'ipv4', 'private'),
  rule('100.64.0.0', 10, 'ipv4', 'carrier-grade NAT'),
  rule('127.0.0.0', 8, 'ipv4', 'loopback'),
  rule('169.254.0.0', 16, 'ipv4', 'link-local'),
  rule('172.16.0.0', 12, 'ipv4', 'private'),
  rule('192.0.0.0', 24, 'ipv4', 'IETF protocol assignment'),
  rule('192.168.0.0', 16, 'ipv4', 'private'),
  rule('198.18.0.0', 15, 'ipv4', 'benchmarking'),
  rule('224.0.0.0', 4, 'ipv4', 'multicast'),
  rule('240.0.0.0', 4, 'ipv4', 'reserved'),
];

const IPV6_GLOBAL_UNICAST = rule('2000::', 3, 'ipv6', 'global unicast');

/** Inside 2000::/3 but tunnelling to an IPv4 address we cannot see, or not routable at all. */
const IPV6_REFUSED_IN_GLOBAL: readonly Rule[] = [
  rule('2001::', 32, 'ipv6', 'Teredo tunnel'),
  rule('2001:db8::', 32, 'ipv6', 'documentation'),
  rule('2002::', 16, 'ipv6', '6to4 tunnel'),
];

/** Names the outside-2000::/3 ranges for a readable refusal message. */
const IPV6_NAMED: readonly Rule[] = [
  rule('::', 128, 'ipv6', 'unspecified'),
  rule('::1', 128, 'ipv6', 'loopback'),
  rule('::ffff:0:0', 96, 'ipv6', 'IPv4-mapped'),
  rule('fc00::', 7, 'ipv6', 'unique local (private)'),
  rule('fe80::', 10, 'ipv6', 'link-local'),
  rule('ff00::', 8, 'ipv6', 'multicast'),
];

/**
 * Why `address` must not be connected to, or null when it is a public address. Anything that is
 * not an IP address at all is refused too (fail closed).
 */
export function refusedAddressKind(address: string): string | null {
  const ip = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = isIP(ip);
  if (family === 4) return IPV4_REFUSED.find((r) => r.list.check(ip, 'ipv4'))?.label ?? null;
  if (family === 6) {
    if (!IPV6_GLOBAL_UNICAST.list.check(ip, 'ipv6')) return IPV6_NAMED.find((r) => r.list.check(ip, 'ipv6'))?.label ?? 'not global unicast';
    return IPV6_REFUSED_IN_GLOBAL.find((r) => r.list.check(ip, 'ipv6'))?.label ?? null;
  }
  return 'not an IP address';
}

/** True for an IPv4 or IPv6 literal (as written in a URL host, brackets allowed). */
export function isIpLiteral(host: string): boolean {
  const ip = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(ip) !== 0;
}
