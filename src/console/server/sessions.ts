import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { effectiveGroups } from '../../auth/index.ts';
import type { ConsoleConfig } from '../../config/index.ts';
import { CountersignError } from '../../errors/index.ts';
import type { Principal } from '../../policy/index.ts';
import type { Runtime } from '../../runtime.ts';
import type { ConsoleSessionRecord, Store } from '../../store/index.ts';

/** A signed-in console request: who, and the session row it came with. */
export interface ConsoleSession {
  principal: Principal;
  record: ConsoleSessionRecord;
}

/** How often `last_seen_at` is written: idle expiry is exact to this much. */
const TOUCH_EVERY_MS = 30_000;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
export const token = (): string => randomBytes(32).toString('base64url');

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Console sessions, kept on the server (issue 13): the cookie carries a random token and the
 * store its SHA-256; every request re-reads the row, so sign-out, idle and absolute expiry, a
 * disabled principal and a revoked sign-in key end the session at once, on every replica.
 */
export class ConsoleSessions {
  constructor(
    private readonly store: Store,
    private readonly runtime: Runtime,
    private readonly config: ConsoleConfig,
    /** The `oidc.delegatedGroups` setting: those groups come from the sign-in token, the rest from the store. */
    private readonly delegatedGroups: readonly string[],
  ) {}

  /** The origin state changes must come from: the configured one, or the request's own on loopback. */
  expectedOrigin(request: FastifyRequest): string {
    if (this.config.origin) return new URL(this.config.origin).origin;
    return `${request.protocol}://${request.host}`;
  }

  /** Secure unless the console is reached over loopback (a browser keeps no Secure cookie over http). */
  secure(request: FastifyRequest): boolean {
    if (this.config.origin) return new URL(this.config.origin).protocol === 'https:';
    return !LOOPBACK_HOSTS.has(request.hostname);
  }

  cookieName(request: FastifyRequest): string {
    // __Host-: the browser accepts it only Secure, Path=/ and without Domain, so no sibling host can set it.
    return this.secure(request) ? '__Host-cs_session' : 'cs_session';
  }

  /**
   * Refuses a cross-site state change: Origin must be this console's, Sec-Fetch-Site (when the
   * browser sends it) same-origin. A request with no Origin is refused: every browser sends it on
   * a POST, so its absence means something other than our page.
   */
  assertSameOrigin(request: FastifyRequest): void {
    const origin = request.headers.origin;
    if (typeof origin !== 'string' || origin !== this.expectedOrigin(request)) {
      throw new CountersignError('CSRF_REFUSED', 'this request did not come from the console’s own origin');
    }
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') {
      throw new CountersignError('CSRF_REFUSED', 'this request did not come from the console’s own origin');
    }
  }

  /** The synchronizer token: the one the session was given, sent back in `x-csrf-token`. */
  assertCsrfToken(request: FastifyRequest, session: ConsoleSession): void {
    const sent = request.headers['x-csrf-token'];
    if (typeof sent !== 'string' || !sameSecret(sent, session.record.csrfToken)) {
      throw new CountersignError('CSRF_REFUSED', 'the anti-forgery token is missing or wrong; reload the console');
    }
  }

  async create(request: FastifyRequest, reply: FastifyReply, principal: Principal, keyId: string | null): Promise<void> {
    const now = this.runtime.now();
    const secret = token();
    const absolute = new Date(now.getTime() + this.config.sessionAbsoluteHours * 3_600_000);
    const lifetime = this.config.sessionAbsoluteHours * 3_600_000;
    await this.store.console.pruneBefore(
      new Date(now.getTime() - 600_000).toISOString(),
      now.toISOString(),
      new Date(now.getTime() - lifetime).toISOString(),
    );
    await this.store.console.insertSession({
      idHash: sha256(secret),
      tenantId: principal.tenantId,
      principalId: principal.id,
      authMethod: principal.authMethod === 'oidc' ? 'oidc' : 'api_key',
      keyId,
      groups: [...principal.groups],
      kind: principal.kind === 'human' ? 'human' : 'agent',
      csrfToken: token(),
      createdAt: now.toISOString(),
      lastSeenAt: now.toISOString(),
      expiresAt: absolute.toISOString(),
    });
    reply.setCookie(this.cookieName(request), secret, {
      httpOnly: true,
      sameSite: 'strict',
      secure: this.secure(request),
      path: '/',
      expires: absolute,
    });
  }

  /** The request's session, or null when it has none that is still valid. */
  async resolve(request: FastifyRequest): Promise<ConsoleSession | null> {
    const secret = request.cookies[this.cookieName(request)];
    if (!secret || secret.length > 128) return null;
    const record = await this.store.console.getSession(sha256(secret));
    if (!record || record.endedAt) return null;
    const now = this.runtime.now();
    const idleUntil = Date.parse(record.lastSeenAt) + this.config.sessionIdleMinutes * 60_000;
    if (now.getTime() >= Date.parse(record.expiresAt) || now.getTime() >= idleUntil) {
      await this.store.console.endSession(record.idHash, now.toISOString());
      return null;
    }
    const principal = await this.#principalNow(record);
    if (!principal) {
      await this.store.console.endSession(record.idHash, now.toISOString());
      return null;
    }
    if (now.getTime() - Date.parse(record.lastSeenAt) >= TOUCH_EVERY_MS)
      await this.store.console.touchSession(record.idHash, now.toISOString());
    return { principal, record };
  }

  /** Ends the request's session on the server and clears the cookie. */
  async end(request: FastifyRequest, reply: FastifyReply, session: ConsoleSession): Promise<void> {
    await this.store.console.endSession(session.record.idHash, this.runtime.now().toISOString());
    reply.clearCookie(this.cookieName(request), { path: '/', httpOnly: true, sameSite: 'strict', secure: this.secure(request) });
  }

  /**
   * The principal as it is now: a disabled principal or a revoked sign-in key has no session; a
   * stored kind of agent wins over a human sign-in; groups not delegated to the IdP are the stored ones.
   */
  async #principalNow(record: ConsoleSessionRecord): Promise<Principal | null> {
    const stored = await this.store.scope(record.tenantId).directory.getPrincipal(record.principalId);
    if (!stored || stored.disabled) return null;
    if (record.keyId) {
      const key = await this.store.findApiKeyForAuthentication(record.keyId);
      if (!key || key.key.revokedAt || key.principal.id !== record.principalId) return null;
    }
    const groups = record.authMethod === 'oidc' ? effectiveGroups(stored.groups, record.groups, this.delegatedGroups) : [...stored.groups];
    return {
      tenantId: record.tenantId,
      id: stored.id,
      name: stored.name,
      kind: stored.kind === 'agent' || record.kind === 'agent' ? 'agent' : 'human',
      groups: Object.freeze(groups),
      authMethod: record.authMethod,
    };
  }
}
