// Plan submission over HTTP: POST /v1/plans with a 3-step echo plan against the real server on a
// fresh data dir, beside a bare Fastify JSON route hosted and loaded the same way.
import { join } from 'node:path';
import { progress, type Row, type Target, tempDir } from '../lib.ts';
import type { HostStats } from './http-host.ts';
import { HostedServer, type LoadOptions, type LoadResult, load } from './http-load.ts';
import { auditLogDdl, commitsPerSecond, openBareAuditDb, type Synchronous } from './sqlite.ts';

/** DESIGN.md: plan submission over HTTP ≥ 1/8 of the bare route on SQLite. */
const TARGET: Target = { op: '>=', value: 1 / 8, on: 'ratio', text: '≥ 1/8 of floor' };
const CONNECTIONS = 16;
/** Seconds of measured load per server (BENCH_HTTP_SECONDS overrides), after a short warm-up. */
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 8);
const WARMUP_SECONDS = 2;
/** PlanService.propose calls made directly (no HTTP) after the load, to split the per-plan cost. */
const IN_PROCESS = 1_000;
const IN_PROCESS_CONCURRENCY = 16;
/** Requests in flight when a run's time is up may be stored but not counted: one per connection per run. */
const IN_FLIGHT_SLACK = 2 * CONNECTIONS;

export const THREE_STEP_PLAN = {
  intent: 'Say hello three times',
  environment: 'dev',
  steps: [1, 2, 3].map((i) => ({ tool: 'echo', action: 'say', input: { message: `hello ${i}` } })),
};

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function loadOptions(url: string, headers: Record<string, string>): LoadOptions {
  return {
    url: `${url}/v1/plans`,
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    connections: CONNECTIONS,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(THREE_STEP_PLAN),
  };
}

async function measureBare(): Promise<LoadResult> {
  const { host, url } = await HostedServer.start({ type: 'start', server: 'bare' });
  try {
    progress(`plans: bare Fastify route, ${WARMUP_SECONDS}+${SECONDS} s × ${CONNECTIONS} connections`);
    return await load(loadOptions(url, {}));
  } finally {
    await host.stop();
  }
}

interface ProductRun {
  load: LoadResult;
  /** SQLite: transactions each commit carried during the HTTP load (warm-up included); null on PostgreSQL. */
  loadTransactionsPerCommit: number | null;
  stats: HostStats | null;
  inProcessPerSecond: number | null;
  /** The same with IN_PROCESS_CONCURRENCY callers at once, and the transactions each SQLite commit carried. */
  inProcessConcurrent: { perSecond: number; transactionsPerCommit?: number } | null;
  /** Bare SQLite commits/s on the same disk right after the load: the ceiling for one commit per plan. */
  bareCommitsPerSecond: number | null;
  problems: string[];
}

interface ProductOptions {
  engine: 'sqlite' | 'postgres';
  databaseUrl?: string;
  synchronous?: Synchronous;
  inProcess: boolean;
}

async function measureProduct(o: ProductOptions): Promise<ProductRun> {
  const tmp = tempDir(`plans-${o.engine}`);
  const dir = join(tmp.path, 'data');
  let hosted: Awaited<ReturnType<typeof HostedServer.start>> | undefined;
  try {
    hosted = await HostedServer.start({
      type: 'start',
      server: 'countersign',
      dir,
      databaseUrl: o.databaseUrl,
      sqliteSynchronous: o.synchronous,
    });
    const { host, url, adminKey } = hosted;
    if (!adminKey) throw new Error('the server host returned no admin key');
    const label = `${o.engine}${o.synchronous ? ` synchronous=${o.synchronous}` : ''}`;
    progress(`plans: countersign on ${label}, ${WARMUP_SECONDS}+${SECONDS} s × ${CONNECTIONS} connections`);
    const countsBefore = (await host.call({ type: 'commit-counts' }, 'commit-counts')).counts;
    const r = await load(loadOptions(url, { authorization: `Bearer ${adminKey}` }));
    const countsAfter = (await host.call({ type: 'commit-counts' }, 'commit-counts')).counts;
    const loadTransactionsPerCommit =
      countsBefore && countsAfter && countsAfter.commits > countsBefore.commits
        ? (countsAfter.transactions - countsBefore.transactions) / (countsAfter.commits - countsBefore.commits)
        : null;

    let bareCommits: number | null = null;
    if (o.engine === 'sqlite') {
      const bare = openBareAuditDb(join(tmp.path, 'bare.db'), auditLogDdl(join(dir, 'countersign.db')), o.synchronous ?? 'normal');
      try {
        bareCommits = commitsPerSecond(bare, 1, 1_500).perSecond;
      } finally {
        bare.close();
      }
    }
    let inProcess: number | null = null;
    let inProcessConcurrent: ProductRun['inProcessConcurrent'] = null;
    if (o.inProcess) {
      progress(`plans: ${IN_PROCESS} proposals in process (no HTTP), one at a time, then ${IN_PROCESS_CONCURRENCY} at once`);
      inProcess = (await host.call({ type: 'propose-in-process', count: IN_PROCESS, body: THREE_STEP_PLAN }, 'proposed')).perSecond;
      const concurrent = await host.call(
        { type: 'propose-in-process', count: IN_PROCESS, body: THREE_STEP_PLAN, concurrency: IN_PROCESS_CONCURRENCY },
        'proposed',
      );
      inProcessConcurrent = { perSecond: concurrent.perSecond, transactionsPerCommit: concurrent.transactionsPerCommit };
    }
    progress('plans: checking stored plans and the audit chain');
    const stats = (await host.call({ type: 'stats' }, 'stats')).stats;

    const problems: string[] = [];
    if (r.non2xxIncludingWarmup > 0) problems.push(`non-2xx answers: ${JSON.stringify(r.statusCodes)}`);
    if (r.errors > 0 || r.timeouts > 0) problems.push(`${r.errors} transport errors, ${r.timeouts} timeouts`);
    const expected = r.okIncludingWarmup + (o.inProcess ? 2 * (100 + IN_PROCESS) : 0);
    if (!stats || stats.plans < expected || stats.plans > expected + IN_FLIGHT_SLACK) {
      problems.push(`stored plans ${stats?.plans ?? 'unknown'} do not match ${expected} accepted (+ up to ${IN_FLIGHT_SLACK} in flight)`);
    }
    if (!stats?.auditIntact) problems.push(`audit chain after load: ${stats?.auditMessage ?? 'not checked'}`);
    return {
      load: r,
      loadTransactionsPerCommit,
      stats,
      inProcessPerSecond: inProcess,
      inProcessConcurrent,
      bareCommitsPerSecond: bareCommits,
      problems,
    };
  } finally {
    await hosted?.host.stop();
    tmp.remove();
  }
}

function toRow(id: string, figure: string, run: ProductRun, bare: LoadResult, target: Target | undefined): Row {
  const r = run.load;
  const notes = [
    `${fmt(r.ok)} × 201 in ${r.seconds} s, non-2xx ${r.non2xx}, errors ${r.errors}; latency mean ${r.latencyMean.toFixed(1)} ms, p50 ${r.latencyP50} ms, p99 ${r.latencyP99} ms (floor: mean ${bare.latencyMean.toFixed(2)} ms, non-2xx ${bare.non2xx})`,
    `after the load: ${run.stats?.plans ?? '?'} plans stored, audit chain of ${run.stats?.auditEntries ?? '?'} entries ${run.stats?.auditIntact ? 'verifies' : 'DOES NOT VERIFY'}`,
    "every plan proposed has one shape (proposer, environment, risk, source): after the first, Cedar's answer for its Plan decision is the authorizer's kept one (a plan's id is not part of the key); each new shape costs one engine call",
  ];
  if (run.loadTransactionsPerCommit !== null)
    notes.push(`SQLite transactions per commit during the load: ${run.loadTransactionsPerCommit.toFixed(1)} (group commit)`);
  if (run.inProcessPerSecond !== null)
    notes.push(`PlanService.propose in process, one at a time, no HTTP: ${fmt(run.inProcessPerSecond)}/s`);
  if (run.inProcessConcurrent !== null) {
    const per = run.inProcessConcurrent.transactionsPerCommit;
    notes.push(
      `the same, ${IN_PROCESS_CONCURRENCY} at once: ${fmt(run.inProcessConcurrent.perSecond)}/s${per === undefined ? '' : ` (${per.toFixed(1)} transactions per SQLite commit)`}`,
    );
  }
  if (run.bareCommitsPerSecond !== null) {
    notes.push(
      `bare SQLite commits on this disk right after (1 insert/txn, same pragmas): ${fmt(run.bareCommitsPerSecond)}/s — the ceiling for one commit per plan`,
    );
  }
  const row: Row = {
    id,
    figure,
    kind: 'rate',
    value: r.perSecond,
    floor: { label: 'bare Fastify JSON route', value: bare.perSecond },
    target,
    detail: {
      connections: CONNECTIONS,
      seconds: r.seconds,
      ok: r.ok,
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
      latencyMeanMs: r.latencyMean,
      latencyP50Ms: r.latencyP50,
      latencyP99Ms: r.latencyP99,
      floorLatencyMeanMs: bare.latencyMean,
      floorNon2xx: bare.non2xx,
      storedPlans: run.stats?.plans ?? -1,
      auditEntries: run.stats?.auditEntries ?? -1,
      auditIntact: run.stats?.auditIntact ?? false,
      ...(run.inProcessPerSecond !== null ? { inProcessPerSecond: Math.round(run.inProcessPerSecond) } : {}),
      ...(run.bareCommitsPerSecond !== null ? { bareCommitsPerSecond: Math.round(run.bareCommitsPerSecond) } : {}),
    },
    notes,
  };
  const problems = [
    ...run.problems,
    ...(bare.non2xx > 0 || bare.errors > 0 ? [`floor had ${bare.non2xx} non-2xx, ${bare.errors} errors`] : []),
  ];
  // A fast wrong answer is no figure: any non-2xx, lost plan or broken chain makes the row an ERROR.
  if (problems.length > 0) {
    row.status = 'ERROR';
    notes.push(...problems);
  }
  return row;
}

/** SQLite: the default (synchronous NORMAL) against the target, and FULL beside it to show what a sync per commit costs. */
export async function measurePlansSqlite(): Promise<Row[]> {
  const bare = await measureBare();
  const byDefault = await measureProduct({ engine: 'sqlite', inProcess: true });
  const full = await measureProduct({ engine: 'sqlite', synchronous: 'full', inProcess: false });
  const fullRow = toRow('plans.http.sqlite.sync_full', 'plan submission HTTP, sqlite sync FULL', full, bare, undefined);
  fullRow.notes?.push('for comparison: database.sqliteSynchronous: full (the default is normal)');
  return [toRow('plans.http.sqlite', 'plan submission HTTP, sqlite (default)', byDefault, bare, TARGET), fullRow];
}

/** PostgreSQL at `databaseUrl` (a fresh database the caller drops). DESIGN.md sets no HTTP target for it. */
export async function measurePlansPostgres(databaseUrl: string): Promise<Row[]> {
  const bare = await measureBare();
  const run = await measureProduct({ engine: 'postgres', databaseUrl, inProcess: true });
  const row = toRow('plans.http.postgres', 'plan submission HTTP, postgres', run, bare, undefined);
  row.notes?.push('no DESIGN.md target for HTTP on PostgreSQL (the 1,500/s target is for SQLite)');
  return [row];
}
