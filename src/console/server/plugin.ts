import { existsSync } from 'node:fs';
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { StepUpSettings } from '../../approvals/index.ts';
import type { Authenticator } from '../../auth/index.ts';
import type { Config } from '../../config/index.ts';
import type { LiveHub } from '../../live/index.ts';
import type { Pipeline } from '../../operations/index.ts';
import { PACKAGE_ROOT } from '../../package-root.ts';
import type { Runtime } from '../../runtime.ts';
import type { Store } from '../../store/index.ts';
import { consoleRoutes } from './routes.ts';
import { ConsoleSessions } from './sessions.ts';
import { signInRoutes } from './sign-in.ts';
import { StepUp } from './step-up.ts';

export interface ConsoleServices {
  store: Store;
  authenticator: Authenticator;
  pipeline: Pipeline;
  runtime: Runtime;
  config: Readonly<Config>;
  /** Which approvals need a security-key step-up (the same settings every channel reads). */
  stepUp: StepUpSettings;
  /** Signals of new execution events and credential changes (scale-out); absent: streams poll. */
  live?: LiveHub;
}

/** Where the built UI is: `npm run build` writes it to dist/console/ui. */
export const CONSOLE_UI_DIR = `${join(PACKAGE_ROOT, 'dist', 'console', 'ui')}/`;

/**
 * A strict Content-Security-Policy: scripts, styles and connections from this origin only, no
 * inline script or style, no framing, no plugins. The UI is built to need nothing else.
 */
const CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    fontSrc: ["'self'"],
    manifestSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    objectSrc: ["'none'"],
  },
};

/**
 * The reviewer console, served by the API server at `/` (issue 13). Its own scope so the CSP
 * and the session hooks apply to the console alone (the API answers JSON to bearer callers; the
 * swagger UI at /docs keeps its own headers).
 */
export async function registerConsole(app: FastifyInstance, services: ConsoleServices, options: { recheckMs: number }): Promise<void> {
  const { config } = services;
  // Browsers asking for a page at `/` get the console; API clients keep the JSON index there.
  app.addConstraintStrategy({
    name: 'document',
    storage() {
      const handlers = new Map<string, unknown>();
      return { get: (k: string) => (handlers.get(k) ?? null) as never, set: (k: string, v: unknown) => void handlers.set(k, v) };
    },
    deriveConstraint: (req: { headers: Record<string, string | string[] | undefined> }) =>
      String(req.headers.accept ?? '').includes('text/html') ? 'html' : 'other',
    mustMatchWhenDerived: false,
  });
  await app.register(async (scope) => {
    // Console routes stay out of the API's OpenAPI document: they are the console's, not the API's.
    scope.addHook('onRoute', (route) => {
      route.schema = { ...(route.schema ?? {}), hide: true };
    });
    await scope.register(cookie);
    await scope.register(helmet, {
      contentSecurityPolicy: CSP,
      crossOriginEmbedderPolicy: true,
      referrerPolicy: { policy: 'no-referrer' },
      strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    });
    const sessions = new ConsoleSessions(services.store, services.runtime, config.console, config.oidc?.delegatedGroups ?? []);
    const stepUp = new StepUp(services.store, services.runtime, sessions);
    signInRoutes(scope, { store: services.store, authenticator: services.authenticator, runtime: services.runtime, config, sessions });
    consoleRoutes(scope, { ...services, sessions, stepUp, stepUpSettings: services.stepUp, recheckMs: options.recheckMs });
    staticRoutes(scope);
  });
}

/** The UI shell and its hashed assets; public (there is nothing in them to protect). */
function staticRoutes(scope: FastifyInstance): void {
  const built = existsSync(`${CONSOLE_UI_DIR}index.html`);
  scope.register(fastifyStatic, { root: CONSOLE_UI_DIR, serve: false });
  const page = { config: { public: true, operation: null } };
  scope.get('/', { ...page, constraints: { document: 'html' } }, async (_request, reply) => {
    if (!built) return reply.status(503).type('text/plain').send('The console is not built: run `npm run build`.');
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  });
  scope.get('/assets/:file', page, async (request, reply) => {
    const file = (request.params as { file: string }).file;
    // Hashed names: a file's content never changes under its name.
    return reply.header('cache-control', 'public, max-age=31536000, immutable').sendFile(`assets/${file}`);
  });
}
