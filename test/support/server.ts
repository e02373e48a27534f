import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { parseDocument } from 'yaml';
import { buildApi } from '../../src/api/app.ts';
import { type ContextOverrides, openServerContext, type ServerContext } from '../../src/server/context.ts';
import { type InitResult, initDataDir } from '../../src/server/init.ts';
import type { Engine } from './engines.ts';
import { httpClient } from './http-client.ts';

export interface TestServer {
  url: string;
  dir: string;
  init: InitResult;
  ctx: ServerContext;
  app: FastifyInstance;
  databaseUrl: string | undefined;
  request(
    method: string,
    path: string,
    options?: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<{
    status: number;
    body: any;
    headers: Headers;
  }>;
  close(): Promise<void>;
}

/** Every temp dir this test process made, removed when it exits (a test that forgets, or is interrupted, leaves none). */
const madeDirs: string[] = [];

export function tempDir(prefix = 'cs-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (madeDirs.length === 0) {
    process.once('exit', () => {
      for (const made of madeDirs) {
        try {
          rmSync(made, { recursive: true, force: true });
        } catch {
          // A mount point still in use (EBUSY) stays; everything else is gone.
        }
      }
    });
  }
  madeDirs.push(dir);
  return dir;
}

/** A real server: a fresh data dir and database, the real API on a free loopback port. */
export async function startTestServer(
  engine: Engine,
  overrides: ContextOverrides & { bodyLimitBytes?: number; rateLimit?: boolean; configure?: (dir: string) => void; port?: number } = {},
): Promise<TestServer> {
  const db = await engine.fresh();
  const dir = join(tempDir(), 'data');
  const init = await initDataDir(dir, { databaseUrl: db.databaseUrl });
  overrides.configure?.(dir);
  const ctx = await openServerContext(dir, { ...overrides, databaseUrl: db.databaseUrl });
  const app = await buildApi(ctx, {
    bodyLimitBytes: overrides.bodyLimitBytes ?? ctx.config.server.bodyLimitBytes,
    trustProxy: false,
    rateLimit: { ...ctx.config.rateLimit, enabled: overrides.rateLimit ?? false },
    version: 'test',
    logger: false,
    streamRecheckMs: 300,
  });
  const address = await app.listen({ host: '127.0.0.1', port: overrides.port ?? 0 });
  return {
    url: address,
    dir,
    init,
    ctx,
    app,
    databaseUrl: db.databaseUrl,
    // The same client a test uses for a server in another process.
    request: httpClient(address, init.adminKey).request,
    async close() {
      await app.close();
      await ctx.close();
      await db.drop();
      rmSync(join(dir, '..'), { recursive: true, force: true });
    },
  };
}

export const echoPlan = (message = 'hello', environment = 'dev') => ({
  intent: 'Say hello',
  environment,
  steps: [{ tool: 'echo', action: 'say', input: { message } }],
});

/**
 * Turns step-up off in a data directory's countersign.yaml, for tests that approve high-risk
 * plans over the API: an API key cannot step up, so with step-up on only the console approves
 * them (test/console-browser.test.ts and test/attacks/step-up.test.ts cover that path).
 */
export function withoutStepUp(dir: string): void {
  const file = join(dir, 'countersign.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(['console', 'stepUp'], { risks: [], environments: {} });
  writeFileSync(file, doc.toString());
}
