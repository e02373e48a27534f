import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import { z } from 'zod';
import { type Authenticator, parseApiKey } from '../../auth/index.ts';
import type { Config } from '../../config/index.ts';
import { CountersignError } from '../../errors/index.ts';
import type { Principal } from '../../policy/index.ts';
import type { Runtime } from '../../runtime.ts';
import { NO_TENANT, type Store } from '../../store/index.ts';
import { parseOrThrow } from '../../validation/index.ts';
import { type ConsoleSessions, sha256 } from './sessions.ts';

export interface SignInDeps {
  store: Store;
  authenticator: Authenticator;
  runtime: Runtime;
  config: Readonly<Config>;
  sessions: ConsoleSessions;
}

const KeySignInSchema = z.object({ key: z.string().min(1).max(512) }).strict();
/** An OIDC sign-in must come back within this long. */
const SIGN_IN_TTL_MS = 10 * 60_000;

/** A sign-in refusal, audited with its reason; the browser gets one message whatever failed. */
async function refuse(deps: SignInDeps, request: FastifyRequest, reason: string, who?: Principal): Promise<never> {
  await deps.store.scope(who?.tenantId ?? NO_TENANT).audit({
    actor: who?.id ?? 'anonymous',
    action: 'console.sign-in',
    outcome: 'denied',
    resource: who ? `principal:${who.id}` : 'console',
    details: { reason, ip: request.ip, channel: 'web' },
  });
  if (reason === 'not_human')
    throw new CountersignError('CONSOLE_SIGN_IN_REFUSED', 'only people sign in to the console: this identity is an agent');
  throw new CountersignError('UNAUTHENTICATED', 'sign-in failed: the credential was not accepted');
}

/**
 * Humans only (invariant 5: only humans review). Agents have nothing to do in a reviewer
 * console; the pipeline's code rule would refuse their reviews anyway, and refusing them here
 * keeps an agent's key from holding a browser session at all.
 */
async function startSession(
  deps: SignInDeps,
  request: FastifyRequest,
  reply: Parameters<ConsoleSessions['create']>[1],
  who: Principal,
  keyId: string | null,
) {
  if (who.kind !== 'human') await refuse(deps, request, 'not_human', who);
  await deps.sessions.create(request, reply, who, keyId);
  await deps.store.scope(who.tenantId).audit({
    actor: who.id,
    action: 'console.sign-in',
    outcome: 'allowed',
    resource: `principal:${who.id}`,
    details: { method: who.authMethod, ip: request.ip, channel: 'web' },
  });
}

/** The identity provider's metadata, discovered once on first use (the issuer of the `oidc` section). */
function oidcClient(config: Readonly<Config>): (() => Promise<client.Configuration>) | null {
  const oidc = config.oidc;
  const web = config.console.oidc;
  if (!oidc || !web) return null;
  let discovered: Promise<client.Configuration> | null = null;
  return () => {
    discovered ??= client
      .discovery(new URL(oidc.issuer), web.clientId, undefined, client.None(), {
        // Development providers on loopback speak http; allowPrivateAddresses is the one switch for it.
        ...(oidc.allowPrivateAddresses ? { execute: [client.allowInsecureRequests] } : {}),
      })
      .catch((err) => {
        discovered = null;
        throw err;
      });
    return discovered;
  };
}

export function signInRoutes(app: FastifyInstance, deps: SignInDeps): void {
  // Sign-in is reachable without a credential, and limited per address like every other route.
  const publicRoute = { config: { public: true, addressLimited: true, operation: null } };
  const discover = oidcClient(deps.config);

  app.get('/console/auth/methods', publicRoute, async () => ({
    apiKey: deps.config.console.apiKeySignIn,
    oidc: discover !== null,
  }));

  app.post('/console/auth/key', publicRoute, async (request, reply) => {
    deps.sessions.assertSameOrigin(request);
    if (!deps.config.console.apiKeySignIn) throw new CountersignError('NOT_FOUND', 'API-key sign-in is off (console.apiKeySignIn)');
    const { key } = parseOrThrow(KeySignInSchema, request.body ?? {}, 'body');
    let who: Principal;
    try {
      who = await deps.authenticator.authenticate(`Bearer ${key}`);
    } catch (err) {
      if (err instanceof CountersignError && err.code === 'UNAUTHENTICATED')
        return refuse(deps, request, String(err.details?.reason ?? 'bad_key'));
      throw err;
    }
    if (who.authMethod !== 'api_key') return refuse(deps, request, 'not_an_api_key');
    const keyId = parseApiKey(key)?.id ?? null;
    await startSession(deps, request, reply, who, keyId);
    return reply.status(204).send();
  });

  app.get('/console/auth/oidc/start', publicRoute, async (request, reply) => {
    if (!discover) throw new CountersignError('NOT_FOUND', 'OIDC sign-in is not configured (console.oidc)');
    const web = deps.config.console.oidc as NonNullable<Config['console']['oidc']>;
    const config = await discover();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    await deps.store.console.insertSignIn(sha256(state), verifier, nonce, deps.runtime.now().toISOString());
    // The state also rides in a cookie bound to this browser: a callback started elsewhere (login CSRF) fails.
    reply.setCookie('cs_sign_in', state, {
      httpOnly: true,
      sameSite: 'lax',
      secure: deps.sessions.secure(request),
      path: '/console/auth/oidc',
      maxAge: SIGN_IN_TTL_MS / 1000,
    });
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: web.redirectUri,
      scope: web.scope,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      resource: (deps.config.oidc as NonNullable<Config['oidc']>).audience,
    });
    return reply.redirect(url.href, 302);
  });

  app.get('/console/auth/oidc/callback', publicRoute, async (request, reply) => {
    if (!discover) throw new CountersignError('NOT_FOUND', 'OIDC sign-in is not configured (console.oidc)');
    const web = deps.config.console.oidc as NonNullable<Config['console']['oidc']>;
    const query = request.query as Record<string, string | undefined>;
    const state = query.state ?? '';
    const cookieState = request.cookies.cs_sign_in ?? '';
    reply.clearCookie('cs_sign_in', { path: '/console/auth/oidc' });
    const started = state && state === cookieState ? await deps.store.console.takeSignIn(sha256(state)) : undefined;
    if (!started || deps.runtime.now().getTime() - Date.parse(started.createdAt) > SIGN_IN_TTL_MS) {
      await refuse(deps, request, 'unknown_state').catch(() => undefined);
      return reply.redirect('/#/sign-in?error=expired', 302);
    }
    let who: Principal;
    try {
      const config = await discover();
      const current = new URL(web.redirectUri);
      current.search = new URL(request.url, 'http://callback.invalid').search;
      const tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: started.codeVerifier,
        expectedState: state,
        expectedNonce: started.nonce,
        idTokenExpected: true,
      });
      // The access token is verified exactly like any bearer token of the API (one implementation).
      who = await deps.authenticator.authenticate(`Bearer ${tokens.access_token}`);
    } catch (err) {
      request.log.warn({ err }, 'console OIDC sign-in failed');
      await refuse(deps, request, err instanceof CountersignError ? String(err.details?.reason ?? err.code) : 'code_exchange').catch(
        () => undefined,
      );
      return reply.redirect('/#/sign-in?error=refused', 302);
    }
    if (who.kind !== 'human') {
      await refuse(deps, request, 'not_human', who).catch(() => undefined);
      return reply.redirect('/#/sign-in?error=agent', 302);
    }
    await startSession(deps, request, reply, who, null);
    return reply.redirect('/#/', 302);
  });
}
