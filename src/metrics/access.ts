import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, join } from 'node:path';
import { CountersignError } from '../errors/index.ts';

/**
 * Who may scrape `/metrics` (counts of plans and decisions are operational intelligence, never
 * public). With a bearer token configured, a scrape must carry it, from any address. Without
 * one, only a loopback peer may scrape — judged on the TCP peer, never on X-Forwarded-For — and
 * only when no reverse proxy is trusted: behind a proxy on the same host every request arrives
 * from loopback, so loopback would mean "anyone". Anything else is refused (fail closed).
 */
export interface ScrapeAccess {
  /** The token scrapes must present; null: loopback only. */
  token: string | null;
  /** server.trustProxy: a proxy forwards requests, so the TCP peer says nothing about the client. */
  behindProxy: boolean;
}

export type ScrapeVerdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

export function isLoopbackPeer(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(a) === 4) return a.startsWith('127.');
  return a === '::1';
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function judgeScrape(access: ScrapeAccess, peer: string | undefined, authorization: string | undefined): ScrapeVerdict {
  if (access.token !== null) {
    const m = /^Bearer ([^\s]+)$/.exec(authorization ?? '');
    if (m?.[1] && sameSecret(m[1], access.token)) return { ok: true };
    return { ok: false, status: 401, reason: 'a scrape must carry the metrics bearer token' };
  }
  if (access.behindProxy)
    return { ok: false, status: 403, reason: 'behind a trusted proxy, metrics need a bearer token (metrics.bearerTokenFile)' };
  if (isLoopbackPeer(peer)) return { ok: true };
  return { ok: false, status: 403, reason: 'metrics are served to loopback peers only (or set metrics.bearerTokenFile)' };
}

/** The token must be long enough that guessing it over HTTP is hopeless. */
const MIN_TOKEN_LENGTH = 32;

/**
 * Reads the scrape token once at start. A configured file that is missing, unreadable or short
 * stops the start: a typo must never leave /metrics open to loopback-through-a-proxy or closed
 * without a word.
 */
export function loadScrapeAccess(
  config: { metrics: { bearerTokenFile: string }; server: { trustProxy: boolean } },
  dataDir: string,
): ScrapeAccess {
  const file = config.metrics.bearerTokenFile;
  if (file === '') return { token: null, behindProxy: config.server.trustProxy };
  const path = isAbsolute(file) ? file : join(dataDir, file);
  let token: string;
  try {
    token = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new CountersignError('CONFIG_INVALID', `metrics.bearerTokenFile ${path} cannot be read: ${(err as Error).message}`);
  }
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))
    throw new CountersignError(
      'CONFIG_INVALID',
      `metrics.bearerTokenFile ${path} must hold one token of at least ${MIN_TOKEN_LENGTH} characters`,
    );
  return { token, behindProxy: config.server.trustProxy };
}
