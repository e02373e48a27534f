import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK } from 'jose';
// @ts-expect-error oidc-provider publishes no type declarations; the few calls used are typed below.
import ProviderModule from 'oidc-provider';
import { buildApi } from '../../src/api/app.ts';
import { createAuthenticator, type Resolver } from '../../src/auth/index.ts';
import { parseConfig } from '../../src/config/index.ts';
import { openServerContext, type ServerContext } from '../../src/server/context.ts';
import { type InitResult, initDataDir } from '../../src/server/init.ts';
import { rawSql } from './raw-db.ts';
import { tempDir } from './server.ts';

/** The slice of oidc-provider's API these tests use. */
interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}
const Provider = ProviderModule as new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;

export interface IdpClient {
  id: string;
  secret: string;
  /** Put in the access token's `groups` claim. */
  groups?: string[];
}

/** A real, certified OpenID provider (oidc-provider) on a loopback port, issuing JWT access tokens. */
export interface TestIdp {
  issuer: string;
  jwksUrl: string;
  /** The provider's signing key, so a test can mint tokens with claims the provider would not. */
  privateKey: CryptoKey;
  publicJwk: JWK;
  kid: string;
  /** A real access token from the token endpoint (client_credentials grant, RFC 8707 resource). */
  clientCredentialsToken(clientId: string, resource: string): Promise<string>;
  close(): Promise<void>;
}

export const TEST_AUDIENCE = 'https://countersign.test';

/** A browser client (authorization code + PKCE, no secret), e.g. the reviewer console. */
export interface IdpWebClient {
  id: string;
  redirectUri: string;
}

/**
 * With `webClients`, the provider also runs the authorization code flow with its development
 * login and consent pages (any login, any password; the login becomes `sub`), for browser tests.
 */
export async function startTestIdp(clients: IdpClient[], options: { webClients?: IdpWebClient[] } = {}): Promise<TestIdp> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  const kid = 'idp-key-1';
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA', use: 'sig' };

  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const server: Server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const groupsOf = new Map(clients.map((c) => [c.id, c.groups]));

  const provider = new Provider(issuer, {
    clients: clients
      .map(
        (c): Record<string, unknown> => ({
          client_id: c.id,
          client_secret: c.secret,
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'client_secret_post',
          id_token_signed_response_alg: 'EdDSA',
        }),
      )
      .concat(
        (options.webClients ?? []).map((c) => ({
          client_id: c.id,
          grant_types: ['authorization_code'],
          response_types: ['code'],
          redirect_uris: [c.redirectUri],
          token_endpoint_auth_method: 'none',
          id_token_signed_response_alg: 'EdDSA',
        })),
      ),
    jwks: { keys: [privateJwk] },
    cookies: { keys: ['countersign-test-only'] },
    ttl: { ClientCredentials: 300 },
    features: {
      devInteractions: { enabled: Boolean(options.webClients?.length) },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => TEST_AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => ({
          scope: 'countersign',
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
          jwt: { sign: { alg: 'EdDSA' } },
        }),
      },
    },
    extraTokenClaims: (_ctx: unknown, token: { clientId?: string }) => {
      const groups = token.clientId ? groupsOf.get(token.clientId) : undefined;
      return groups ? { groups } : undefined;
    },
  });
  handler = provider.callback();

  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    privateKey,
    publicJwk,
    kid,
    async clientCredentialsToken(clientId, resource) {
      const client = clients.find((c) => c.id === clientId);
      if (!client) throw new Error(`no test client ${clientId}`);
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: client.id,
          client_secret: client.secret,
          resource,
          scope: 'countersign',
        }),
      });
      const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
      if (!res.ok || !body.access_token) throw new Error(`token endpoint: ${res.status} ${body.error}: ${body.error_description}`);
      return body.access_token;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The `oidc` config section for a test provider on loopback (so allowPrivateAddresses: true). */
export function oidcSectionFor(idp: TestIdp, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    issuer: idp.issuer,
    audience: TEST_AUDIENCE,
    jwksUrl: idp.jwksUrl,
    jwksAllowlist: ['127.0.0.1'],
    allowPrivateAddresses: true,
    ...extra,
  };
}

/** Sets the `oidc` section of an initialized data directory's countersign.yaml (JSON is YAML). */
export function writeOidcConfig(dir: string, oidc: Record<string, unknown>): void {
  const path = join(dir, 'countersign.yaml');
  const without = readFileSync(path, 'utf8').replace(/^oidc: .*\n/m, '');
  writeFileSync(path, `${without}oidc: ${JSON.stringify(oidc)}\n`);
}

/** A data directory after `init`, before any server opened it: the place to edit its config. */
export async function initTestDir(): Promise<{ dir: string; init: InitResult; remove(): void }> {
  const dir = join(tempDir('cs-oidc-'), 'data');
  const init = await initDataDir(dir);
  return { dir, init, remove: () => rmSync(join(dir, '..'), { recursive: true, force: true }) };
}

export interface OidcTestServer {
  url: string;
  dir: string;
  init: InitResult;
  ctx: ServerContext;
  app: FastifyInstance;
  /** GET/POST with `Authorization: Bearer <credential>`; null sends no header. */
  request(method: string, path: string, credential: string | null, body?: unknown): Promise<{ status: number; body: any }>;
  /** Reasons of the auth.authenticate denied entries written after audit sequence `afterSeq`. */
  deniedReasonsAfter(afterSeq: number): Promise<string[]>;
  auditHead(): Promise<number>;
  /** Creates a principal in the default tenant, as an operator would (the name is the OIDC `sub`). */
  addPrincipal(name: string, kind: 'human' | 'agent', groups: string[], disabled?: boolean): Promise<string>;
  close(): Promise<void>;
}

/**
 * A real Countersign API on SQLite (authentication does not depend on the engine) with `oidc`
 * written into countersign.yaml between init and start, exactly as an operator would. With a
 * `resolver`, the config is still parsed by the real loader but the Authenticator is rebuilt with
 * that DNS resolver, to simulate a name that changes its answer between start and fetch.
 */
export async function startOidcServer(
  oidc: Record<string, unknown> | null,
  options: { resolver?: Resolver } = {},
): Promise<OidcTestServer> {
  const { dir, init, remove } = await initTestDir();
  if (oidc && !options.resolver) writeOidcConfig(dir, oidc);
  const ctx = await openServerContext(dir);
  if (oidc && options.resolver) {
    const settings = parseConfig(JSON.stringify({ oidc })).oidc;
    ctx.authenticator = await createAuthenticator({ store: ctx.store, runtime: ctx.runtime, oidc: settings, resolver: options.resolver });
  }
  const app = await buildApi(ctx, {
    bodyLimitBytes: ctx.config.server.bodyLimitBytes,
    trustProxy: false,
    rateLimit: { ...ctx.config.rateLimit, enabled: false },
    version: 'test',
    logger: false,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const target = { dir, databaseUrl: undefined };
  return {
    url,
    dir,
    init,
    ctx,
    app,
    async request(method, path, credential, body) {
      const headers: Record<string, string> = {};
      if (credential !== null) headers.authorization = `Bearer ${credential}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // keep the text
      }
      return { status: res.status, body: parsed };
    },
    async deniedReasonsAfter(afterSeq) {
      const rows = await rawSql(
        target,
        "select details from audit_log where action = 'auth.authenticate' and outcome = 'denied' and seq > ? order by seq",
        [afterSeq],
      );
      return rows.map((r) => JSON.parse(r.details).reason as string);
    },
    async auditHead() {
      return Number((await rawSql(target, 'select coalesce(max(seq), 0) as n from audit_log'))[0].n);
    },
    async addPrincipal(name, kind, groups, disabled = false) {
      const id = ctx.runtime.newId('prn');
      await ctx.store
        .scope(init.tenantId)
        .directory.insertPrincipal({ id, name, kind, groups, disabled, createdAt: ctx.runtime.now().toISOString() });
      return id;
    },
    async close() {
      await app.close();
      await ctx.close();
      remove();
    },
  };
}
