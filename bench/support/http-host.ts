// Child process that hosts the server under load, so autocannon (in the parent) and the server
// each have a core and never share an event loop. Both the product and the bare floor are hosted
// here the same way. Driven over the IPC channel by http-load.ts; exits when the parent goes.

import { readFileSync, writeFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { publicKeyMap, verifyAuditChain } from '../../src/audit/index.ts';
import type { Principal } from '../../src/policy/types.ts';
import { openServerContext, type ServerContext } from '../../src/server/context.ts';
import { dataDirPaths, readText } from '../../src/server/datadir.ts';
import { initDataDir } from '../../src/server/init.ts';
import { benchApi } from './api.ts';

export type HostCommand =
  | { type: 'start'; server: 'countersign'; dir: string; databaseUrl?: string; sqliteSynchronous?: 'full' | 'normal' }
  | { type: 'start'; server: 'bare' }
  | { type: 'propose-in-process'; count: number; body: unknown; concurrency?: number }
  | { type: 'stats' }
  | { type: 'commit-counts' }
  | { type: 'stop' };

export interface HostStats {
  plans: number;
  auditEntries: number;
  auditIntact: boolean;
  auditMessage: string;
}

export type HostReply =
  | { type: 'ready'; url: string; adminKey?: string }
  | { type: 'proposed'; perSecond: number; count: number; transactionsPerCommit?: number }
  | { type: 'stats'; stats: HostStats | null }
  /** SQLite: transactions committed so far and the commits that carried them (group commit); null elsewhere. */
  | { type: 'commit-counts'; counts: { transactions: number; commits: number } | null }
  | { type: 'stopped' }
  | { type: 'error'; message: string };

/** Edits the data dir's config file the way an operator would; the server reads it on open. */
function setSqliteSynchronous(dir: string, synchronous: 'full' | 'normal'): void {
  const file = dataDirPaths(dir).config;
  const config = parseYaml(readFileSync(file, 'utf8')) as { database?: Record<string, unknown> };
  config.database = { ...config.database, sqliteSynchronous: synchronous };
  writeFileSync(file, stringifyYaml(config));
}

function send(reply: HostReply): void {
  process.send?.(reply);
}

/** What this process hosts: at most one server, started and stopped by the parent's commands. */
class Host {
  #app: FastifyInstance | null = null;
  #ctx: ServerContext | null = null;
  #adminKey: string | undefined;

  async handle(command: HostCommand): Promise<HostReply> {
    switch (command.type) {
      case 'start': {
        if (this.#app) throw new Error('a server is already running in this host');
        const url =
          command.server === 'bare'
            ? await this.#startBare()
            : await this.#startCountersign(command.dir, command.databaseUrl, command.sqliteSynchronous);
        return { type: 'ready', url, adminKey: this.#adminKey };
      }
      case 'propose-in-process':
        return { type: 'proposed', ...(await this.#proposeInProcess(command.count, command.body, command.concurrency ?? 1)) };
      case 'stats':
        return { type: 'stats', stats: await this.#stats() };
      case 'commit-counts':
        return { type: 'commit-counts', counts: this.#ctx?.store.groupCommitCounts()?.() ?? null };
      case 'stop':
        await this.stop();
        return { type: 'stopped' };
    }
  }

  /** The real API on a fresh data dir: the same calls test/support/server.ts makes, rate limit off. */
  async #startCountersign(dir: string, databaseUrl: string | undefined, synchronous: 'full' | 'normal' | undefined): Promise<string> {
    const init = await initDataDir(dir, { databaseUrl });
    this.#adminKey = init.adminKey;
    if (synchronous) setSqliteSynchronous(dir, synchronous);
    const ctx = await openServerContext(dir, { databaseUrl });
    this.#ctx = ctx;
    this.#app = await benchApi(ctx);
    return this.#app.listen({ host: '127.0.0.1', port: 0 });
  }

  /** The floor: the same framework, a JSON body in, a plan-shaped JSON answer out, nothing else. */
  async #startBare(): Promise<string> {
    const app = Fastify({ logger: false });
    this.#app = app;
    let n = 0;
    app.post('/v1/plans', async (request, reply) => {
      const body = request.body as { environment?: string };
      n++;
      return reply.status(201).send({
        id: `pln_${n}`,
        hash: 'a3f1c2d4e5b6a7980123456789abcdef0123456789abcdef0123456789abcdef',
        status: 'pending_approval',
        risk: 'low',
        environment: body.environment,
      });
    });
    return app.listen({ host: '127.0.0.1', port: 0 });
  }

  /**
   * The plan.propose operation run directly, `concurrency` callers each proposing one after
   * another: the per-plan cost without HTTP. On SQLite it also reports how many transactions each
   * commit carried in the timed part (group commit).
   */
  async #proposeInProcess(
    count: number,
    body: unknown,
    concurrency: number,
  ): Promise<{ perSecond: number; count: number; transactionsPerCommit?: number }> {
    const ctx = this.#ctx;
    if (!ctx || !this.#adminKey) throw new Error('no countersign server is running');
    const principal: Principal = await ctx.authenticator.authenticate(`Bearer ${this.#adminKey}`);
    for (let i = 0; i < 100; i++) await ctx.pipeline.run('plan.propose', principal, body, 'api');
    const counts = ctx.store.groupCommitCounts();
    const before = counts?.();
    const start = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async (_, c) => {
        for (let i = c; i < count; i += concurrency) await ctx.pipeline.run('plan.propose', principal, body, 'api');
      }),
    );
    const perSecond = (count * 1000) / (performance.now() - start);
    const after = counts?.();
    if (!before || !after || after.commits === before.commits) return { perSecond, count };
    return { perSecond, count, transactionsPerCommit: (after.transactions - before.transactions) / (after.commits - before.commits) };
  }

  /** What the load left behind: plans stored, and whether the audit chain still verifies. */
  async #stats(): Promise<HostStats | null> {
    const ctx = this.#ctx;
    if (!ctx) return null;
    const row = await ctx.store.kyselyForOperatorTooling
      .selectFrom('plans')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const report = await verifyAuditChain({
      entries: ctx.store.iterateAuditForVerification(),
      checkpoints: await ctx.store.listAuditCheckpoints(),
      head: await ctx.store.auditHead(),
      publicKeys: publicKeyMap([readText(dataDirPaths(ctx.dir).auditPublicKey)]),
    });
    return { plans: Number(row.n), auditEntries: report.entries, auditIntact: report.ok, auditMessage: report.message };
  }

  async stop(): Promise<void> {
    const app = this.#app;
    const ctx = this.#ctx;
    this.#app = null;
    this.#ctx = null;
    await app?.close();
    await ctx?.close();
  }
}

const host = new Host();

process.on('message', (command: HostCommand) => {
  host
    .handle(command)
    .then(send, (err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
});

// The parent owns this process: when it goes, so does the server.
process.on('disconnect', () => {
  host.stop().finally(() => process.exit(0));
});
