import type { SandboxProfile } from '../tools/index.ts';
import type { Severity } from './types.ts';

/** A network destination named literally in a script; `port` null when the script leaves it implicit. */
export interface NetTarget {
  host: string;
  port: number | null;
}

const SCHEME_PORTS: Record<string, number> = {
  http: 80,
  https: 443,
  ftp: 21,
  ftps: 990,
  ws: 80,
  wss: 443,
  ssh: 22,
  sftp: 22,
  scp: 22,
  git: 9418,
  rsync: 873,
  smtp: 25,
  redis: 6379,
  postgres: 5432,
  postgresql: 5432,
  mysql: 3306,
  mongodb: 27017,
};

/** `scheme://host[:port]/…` → its destination; anything else → null. */
export function targetFromUrl(text: string): NetTarget | null {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i.exec(text.trim());
  if (!m) return null;
  const scheme = (m[1] ?? '').toLowerCase();
  const authority = (m[2] ?? '').replace(/^.*@/, '');
  const hp = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(authority);
  if (!hp?.[1]) return null;
  const port = hp[2] ? Number(hp[2]) : (SCHEME_PORTS[scheme] ?? null);
  return { host: hp[1].toLowerCase().replace(/^\[|\]$/g, ''), port };
}

/** `host`, `host:port` or `user@host` (ssh-style) → its destination, when it looks like a host name or address. */
export function targetFromHost(text: string, defaultPort: number | null): NetTarget | null {
  const t = text.trim().replace(/^[^@/]*@/, '');
  const m = /^([a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:]+\])(?::(\d{1,5}))?$/i.exec(t);
  if (!m?.[1]) return null;
  return { host: m[1].toLowerCase().replace(/^\[|\]$/g, ''), port: m[3] ? Number(m[3]) : defaultPort };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function entryMatches(entry: string, target: NetTarget): boolean {
  const colon = entry.lastIndexOf(':');
  const host = entry.slice(0, colon).toLowerCase();
  const port = Number(entry.slice(colon + 1));
  if (target.port !== null && target.port !== port) return false;
  // `*.example.com` names subdomains only, as the egress proxy reads it; the apex must be listed itself.
  if (host.startsWith('*.')) return target.host.endsWith(host.slice(1));
  return target.host === host;
}

export interface EgressVerdict {
  severity: Severity;
  /** Why, for the reviewer: which destination is or is not on the allowlist. */
  reason: string;
}

function describe(t: NetTarget): string {
  return t.port === null ? t.host : `${t.host}:${t.port}`;
}

/**
 * Network use against the profile: no egress at all → deny (the step cannot legitimately need it);
 * a named destination off the allowlist → high; destination not statically known → warning (the
 * egress proxy still enforces the allowlist at run time); every destination listed → info.
 */
export function judgeEgress(profile: SandboxProfile, targets: readonly (NetTarget | null)[]): EgressVerdict {
  // A step has its own network namespace: its loopback is private to the sandbox, not the host's.
  if (targets.length > 0 && targets.every((t) => t !== null && isLoopback(t.host))) {
    return { severity: 'info', reason: "the destination is the sandbox's own private loopback" };
  }
  if (profile.egress.length === 0) return { severity: 'deny', reason: 'the sandbox profile allows no egress' };
  const known = targets.filter((t): t is NetTarget => t !== null);
  const unlisted = known.filter((t) => !profile.egress.some((e) => entryMatches(e, t)));
  if (unlisted.length > 0) {
    return { severity: 'high', reason: `${unlisted.map(describe).join(', ')} is not on the egress allowlist` };
  }
  if (known.length === 0 || known.length < targets.length) {
    return { severity: 'warning', reason: 'the destination is not known statically; the egress proxy enforces the allowlist' };
  }
  return { severity: 'info', reason: `${known.map(describe).join(', ')} is on the egress allowlist` };
}
