import { BlockList, isIP } from 'node:net';

/** One denied destination, as reported to the executor for the audit log (issue 5, item 2). */
export interface EgressDenial {
  host: string;
  port: number;
  reason: EgressDenialReason;
}

export type EgressDenialReason =
  | 'malformed-target'
  | 'not-allowlisted'
  | 'ip-literal-not-listed'
  | 'private-address'
  | 'metadata-address'
  | 'dns-failed';

export type EgressDecision = { allow: true; address: string; family: 4 | 6 } | { allow: false; reason: EgressDenialReason };

export interface EgressRule {
  /** Lowercase; for a wildcard, the suffix after `*.` (`example.com`). */
  readonly host: string;
  readonly port: number;
  readonly wildcard: boolean;
}

export type Resolver = (host: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

/** Parses profile entries (`host:port`, `*.domain:port`); the manifest schema already vetted them. */
export function parseEgressRules(entries: readonly string[]): EgressRule[] {
  return entries.map((entry) => {
    const at = entry.lastIndexOf(':');
    const rawHost = entry.slice(0, at).toLowerCase();
    const port = Number(entry.slice(at + 1));
    if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid egress entry ${entry}`);
    const wildcard = rawHost.startsWith('*.');
    return { host: wildcard ? rawHost.slice(2) : rawHost, port, wildcard };
  });
}

/** Addresses a step may reach only through an exact allowlist entry. */
const NON_PUBLIC = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NON_PUBLIC.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NON_PUBLIC.addSubnet(net, bits, 'ipv6');
}

/** Cloud instance metadata endpoints: credentials for the whole host live behind these. */
const METADATA = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254']);

/** An IPv6 address that embeds an IPv4 one (mapped, NAT64) is judged by the IPv4 address. */
function embeddedIPv4(address: string): string | null {
  const mapped = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex?.[1] && hex[2]) {
    const hi = Number.parseInt(hex[1], 16);
    const lo = Number.parseInt(hex[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return null;
}

export type AddressClass = 'public' | 'non-public' | 'metadata';

export function classifyAddress(address: string): AddressClass {
  const v4 = embeddedIPv4(address);
  if (v4 !== null) return classifyAddress(v4);
  const family = isIP(address);
  if (family === 0) return 'non-public';
  if (METADATA.has(address.toLowerCase())) return 'metadata';
  return NON_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6') ? 'non-public' : 'public';
}

/**
 * Hosts getaddrinfo would read as an IPv4 address although `isIP` does not (`127.1`, `2130706433`,
 * `0x7f.0.0.1`): treated as IP literals, never as names.
 */
function looksNumeric(host: string): boolean {
  return /^(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}$/i.test(host);
}

export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

function matchRule(host: string, port: number, rules: readonly EgressRule[]): EgressRule | undefined {
  const exact = rules.find((r) => !r.wildcard && r.port === port && r.host === host);
  if (exact) return exact;
  return rules.find((r) => r.wildcard && r.port === port && host.endsWith(`.${r.host}`));
}

/**
 * Decides one destination. IP literals pass only through an exact entry naming that address.
 * Names must match an entry, are resolved here — never by the tool — and every resolved address
 * is checked (so a name cannot be rebound to a private address later): non-public addresses
 * only for an exact entry, metadata addresses never through a name. The caller connects to the
 * returned address, not to the name, so no second resolution happens.
 */
export async function decideEgress(
  rawHost: string,
  port: number,
  rules: readonly EgressRule[],
  resolve: Resolver,
): Promise<EgressDecision> {
  const host = normalizeHost(rawHost);
  if (host.length === 0 || host.length > 253 || !Number.isInteger(port) || port < 1 || port > 65535) {
    return { allow: false, reason: 'malformed-target' };
  }
  const literal = isIP(host);
  if (literal !== 0 || looksNumeric(host)) {
    const listed = rules.some((r) => !r.wildcard && r.port === port && r.host === host);
    if (!listed || literal === 0) return { allow: false, reason: 'ip-literal-not-listed' };
    return { allow: true, address: host, family: literal === 6 ? 6 : 4 };
  }
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(host)) return { allow: false, reason: 'malformed-target' };
  const rule = matchRule(host, port, rules);
  if (rule === undefined) return { allow: false, reason: 'not-allowlisted' };

  let addresses: ReadonlyArray<{ address: string; family: number }>;
  try {
    addresses = await resolve(host);
  } catch {
    return { allow: false, reason: 'dns-failed' };
  }
  if (addresses.length === 0) return { allow: false, reason: 'dns-failed' };
  for (const { address } of addresses) {
    const kind = classifyAddress(address);
    if (kind === 'metadata') return { allow: false, reason: 'metadata-address' };
    if (kind === 'non-public' && rule.wildcard) return { allow: false, reason: 'private-address' };
  }
  const first = addresses[0];
  if (first === undefined) return { allow: false, reason: 'dns-failed' };
  return { allow: true, address: first.address, family: first.family === 6 ? 6 : 4 };
}
