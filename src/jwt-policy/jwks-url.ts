import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { FetchImplementation } from 'jose';
import { isIpLiteral, refusedAddressKind } from './address-policy.ts';

/**
 * The server-side request forgery guard for the JWKS URL (invariant 15). The URL comes from
 * config, but its host's DNS does not: a name that resolved to a public address at start can
 * later resolve to 169.254.169.254 (DNS rebinding). So the address is checked at start and again
 * on every fetch, at connect time, on the very address the socket connects to.
 */
export interface JwksUrlPolicy {
  /** Exact host names (or IP literals) the JWKS may be fetched from; no wildcards. */
  allowlist: readonly string[];
  /** Development only: allows http and private, loopback and link-local addresses. */
  allowPrivateAddresses: boolean;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** DNS resolution, injectable so tests can simulate a name that changes its answer. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** A JWKS URL or address refused by policy. Mapped to the auth failure reason `jwks_url_refused`. */
export class JwksUrlRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JwksUrlRefused';
  }
}

/** Host as compared with the allowlist: lower case, without a trailing root dot. */
export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/**
 * Checks that need no DNS: scheme, no credentials, host on the allowlist, and an IP-literal host
 * outside the refused ranges. Returns why the URL is refused, or null. Pure, used by config
 * validation and before every fetch.
 */
export function jwksUrlProblem(raw: string, policy: JwksUrlPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a valid URL';
  }
  const schemes = policy.allowPrivateAddresses ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) return `scheme ${url.protocol.replace(':', '')} is refused; the JWKS must be fetched over https`;
  if (url.username || url.password) return 'credentials in the URL are refused';
  const host = normalizeHost(url.hostname);
  if (!policy.allowlist.some((h) => normalizeHost(h) === host)) return `host ${host} is not on oidc.jwksAllowlist`;
  if (isIpLiteral(host) && !policy.allowPrivateAddresses) {
    const kind = refusedAddressKind(host);
    if (kind) return `address ${host} is ${kind}; refused unless oidc.allowPrivateAddresses is true (development only)`;
  }
  return null;
}

/** Throws unless every address `hostname` resolves to is allowed: one bad answer refuses all. */
async function resolveAllowed(hostname: string, policy: JwksUrlPolicy, resolve: Resolver): Promise<ResolvedAddress[]> {
  const host = normalizeHost(hostname.replace(/^\[|\]$/g, ''));
  const addresses = isIpLiteral(host) ? [{ address: host, family: host.includes(':') ? 6 : 4 }] : await resolve(host);
  if (addresses.length === 0) throw new JwksUrlRefused(`host ${host} resolves to no address`);
  if (!policy.allowPrivateAddresses) {
    for (const a of addresses) {
      const kind = refusedAddressKind(a.address);
      if (kind) throw new JwksUrlRefused(`host ${host} resolves to ${a.address}, which is ${kind}`);
    }
  }
  return addresses;
}

/** The start-time check: static rules, then DNS. A refusal or an unresolvable host stops the start. */
export async function checkJwksUrl(raw: string, policy: JwksUrlPolicy, resolve: Resolver = systemResolver): Promise<void> {
  const problem = jwksUrlProblem(raw, policy);
  if (problem) throw new JwksUrlRefused(problem);
  await resolveAllowed(new URL(raw).hostname, policy, resolve);
}

/** A JWKS is a few keys; anything large is not a JWKS and must not fill memory. */
const MAX_JWKS_BYTES = 512 * 1024;

/**
 * The fetch jose's createRemoteJWKSet uses. Plain `fetch` resolves the name itself, after any
 * check we could make, so a rebinding DNS server could still win the race; here the check runs
 * inside the socket's own `lookup`, on the addresses the connection then uses. Redirects are
 * never followed (a 3xx is not 200, so jose refuses it) and the body size is bounded.
 */
export function guardedJwksFetch(policy: JwksUrlPolicy, resolve: Resolver = systemResolver): FetchImplementation {
  const lookup: LookupFunction = (hostname, options, callback) => {
    resolveAllowed(hostname, policy, resolve).then(
      (all) => {
        const usable = options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all;
        const first = usable[0];
        if (!first) return callback(new JwksUrlRefused(`host ${hostname} has no address of family ${options.family}`), '', 0);
        if (options.all) return callback(null, usable);
        return callback(null, first.address, first.family);
      },
      (err: Error) => callback(err, '', 0),
    );
  };

  return async (raw, init) => {
    const problem = jwksUrlProblem(raw, policy);
    if (problem) throw new JwksUrlRefused(problem);
    // An IP-literal host never reaches `lookup`; jwksUrlProblem has just checked it instead.
    const url = new URL(raw);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Response>((resolvePromise, reject) => {
      const fail = (err: Error) => reject(init.signal.aborted ? init.signal.reason : err);
      const req = send(
        url,
        { method: 'GET', headers: Object.fromEntries(init.headers), lookup, agent: false, signal: init.signal },
        (res) => {
          readBounded(res).then((body) => resolvePromise(toResponse(res, body)), fail);
        },
      );
      req.on('error', fail);
      req.end();
    });
  };
}

function readBounded(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_JWKS_BYTES) {
        res.destroy(new Error(`the JWKS response exceeds ${MAX_JWKS_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

function toResponse(res: IncomingMessage, body: Buffer): Response {
  const status = res.statusCode ?? 502;
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
  }
  // Response cannot carry 1xx or >599; jose only accepts 200 anyway.
  const safeStatus = status >= 200 && status <= 599 ? status : 502;
  const nullBody = safeStatus === 204 || safeStatus === 205 || safeStatus === 304;
  return new Response(nullBody ? null : new Uint8Array(body), { status: safeStatus, headers });
}
