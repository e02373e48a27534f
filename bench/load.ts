// Figure (`npm run bench:load`): the deployment at scale. API replicas and executors as separate
// `countersign api` / `countersign executor` processes on a fresh PostgreSQL database: plans/s and
// p99 under load with 1 and 2 API replicas and 1 and 4 executors, beside the single-process SQLite
// figure (one `api` process) and a bare Fastify JSON route, all loaded the same way in the same
// run; and, for each PostgreSQL setup, the time from an approved plan's execute request to its
// first step starting (p50, p99). Needs COUNTERSIGN_TEST_DATABASE_URL; takes a few minutes.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { initDataDir } from '../src/server/init.ts';
import { percentiles, progress, type Row, tempDir } from './lib.ts';
import { HostedServer, type LoadResult, load } from './support/http-load.ts';
import { THREE_STEP_PLAN } from './support/plans.ts';
import { freshPostgresDatabase } from './support/postgres.ts';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 6);
const WARMUP_SECONDS = 2;
const CONNECTIONS = 16;
/** Executions timed from the execute request to their first step, per setup. */
const FIRST_STEPS = 30;

interface Proc {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function start(args: string[], ready: RegExp): Promise<Proc & { match: RegExpExecArray }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = ready.exec(out);
      if (m)
        resolve({
          child,
          match: m,
          output: () => out,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
            await exited;
            clearTimeout(timer);
          },
        });
    };
    child.stdout?.on('data', (d) => {
      out += d;
      check();
    });
    child.stderr?.on('data', (d) => {
      out += d;
      check();
    });
    void exited.then(() => reject(new Error(`${args[0]} exited before it was ready:\n${out}`)));
  });
}

interface Setup {
  engine: 'sqlite' | 'postgres';
  replicas: number;
  executors: number;
}

interface SetupResult {
  plans: { perSecond: number; p99: number; p50: number; non2xx: number; errors: number };
  firstStep: { p50: number; p99: number; n: number } | null;
}

async function api(url: string, key: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Execute requests at a steady pace; each execution's first step.started time minus its creation. */
async function timeFirstSteps(urls: string[], key: string): Promise<{ p50: number; p99: number; n: number }> {
  const ids: string[] = [];
  for (let i = 0; i < FIRST_STEPS; i++) {
    const url = urls[i % urls.length] as string;
    const plan = await api(url, key, 'POST', '/v1/plans', {
      intent: `first step ${i}`,
      environment: 'dev',
      steps: [{ tool: 'echo', action: 'say', input: { message: `m${i}` } }],
    });
    ids.push((await api(url, key, 'POST', `/v1/plans/${plan.id}/executions`, {})).id);
    await sleep(50);
  }
  const samples: number[] = [];
  const deadline = Date.now() + 120_000;
  for (const id of ids) {
    for (;;) {
      const view = await api(urls[0] as string, key, 'GET', `/v1/executions/${id}`);
      const events = (await api(urls[0] as string, key, 'GET', `/v1/executions/${id}/events`)).events;
      const first = events.find((e: any) => e.type === 'step.started');
      if (first) {
        samples.push(Date.parse(first.ts) - Date.parse(view.createdAt));
        break;
      }
      if (Date.now() > deadline) throw new Error(`execution ${id} never started a step`);
      await sleep(100);
    }
  }
  const p = percentiles(Float64Array.from(samples));
  return { p50: p.p50, p99: p.p99, n: samples.length };
}

async function measureSetup(setup: Setup, serverUrl: string | undefined): Promise<SetupResult> {
  const tmp = tempDir(`load-${setup.engine}`);
  const dir = join(tmp.path, 'data');
  const db = setup.engine === 'postgres' && serverUrl ? await freshPostgresDatabase(serverUrl) : null;
  const procs: Proc[] = [];
  try {
    const init = await initDataDir(dir, { databaseUrl: db?.databaseUrl });
    // Executors look for work every 50 ms, as a busy deployment would be tuned.
    const file = join(dir, 'countersign.yaml');
    const doc = parseDocument(readFileSync(file, 'utf8'));
    doc.setIn(['executor', 'pollMilliseconds'], 50);
    doc.setIn(['rateLimit', 'enabled'], false);
    writeFileSync(file, doc.toString());
    const dbArgs = db ? ['--database-url', db.databaseUrl] : [];
    const apis = await Promise.all(
      Array.from({ length: setup.replicas }, () => start(['api', '--dir', dir, ...dbArgs, '--port', '0', '--json'], /"url":\s*"([^"]+)"/)),
    );
    procs.push(...apis);
    const urls = apis.map((a) => a.match[1] as string);
    const executors = await Promise.all(
      Array.from({ length: setup.executors }, () => start(['executor', '--dir', dir, ...dbArgs], /executor \S+ started/)),
    );
    procs.push(...executors);
    const label = `${setup.engine}, ${setup.replicas} API, ${setup.executors} executor(s)`;
    progress(`load: ${label}: ${WARMUP_SECONDS}+${SECONDS} s × ${CONNECTIONS} connections`);
    const results: LoadResult[] = await Promise.all(
      urls.map((url) =>
        load({
          url: `${url}/v1/plans`,
          seconds: SECONDS,
          warmupSeconds: WARMUP_SECONDS,
          connections: Math.ceil(CONNECTIONS / urls.length),
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${init.adminKey}` },
          body: JSON.stringify(THREE_STEP_PLAN),
        }),
      ),
    );
    progress(`load: ${label}: ${FIRST_STEPS} executions, execute request to first step`);
    const firstStep = await timeFirstSteps(urls, init.adminKey);
    return {
      plans: {
        perSecond: results.reduce((n, r) => n + r.perSecond, 0),
        // Per-replica latency distributions are not merged: the worst replica's p99 is reported.
        p99: Math.max(...results.map((r) => r.latencyP99)),
        p50: Math.max(...results.map((r) => r.latencyP50)),
        non2xx: results.reduce((n, r) => n + r.non2xx, 0),
        errors: results.reduce((n, r) => n + r.errors + r.timeouts, 0),
      },
      firstStep,
    };
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await db?.drop();
    tmp.remove();
  }
}

async function measureBare(): Promise<LoadResult> {
  const { host, url } = await HostedServer.start({ type: 'start', server: 'bare' });
  try {
    progress(`load: bare Fastify route, ${WARMUP_SECONDS}+${SECONDS} s × ${CONNECTIONS} connections`);
    return await load({
      url: `${url}/v1/plans`,
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      connections: CONNECTIONS,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(THREE_STEP_PLAN),
    });
  } finally {
    await host.stop();
  }
}

export async function run(): Promise<Row[]> {
  const server = process.env.COUNTERSIGN_TEST_DATABASE_URL;
  const bare = await measureBare();
  const floor = { label: 'bare Fastify route', value: bare.perSecond };
  const rows: Row[] = [];
  const add = (id: string, setup: Setup, r: SetupResult) => {
    const name = `${setup.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, ${setup.replicas} API, ${setup.executors} exec`;
    rows.push({
      id: `load.plans.${id}`,
      figure: `plans/s, ${name}`,
      kind: 'rate',
      value: r.plans.perSecond,
      floor,
      notes: [
        `p50 ${r.plans.p50} ms, p99 ${r.plans.p99} ms (floor p99 ${bare.latencyP99} ms); non-2xx ${r.plans.non2xx}, errors ${r.plans.errors}`,
      ],
      detail: { p50: r.plans.p50, p99: r.plans.p99, non2xx: r.plans.non2xx },
      ...(r.plans.non2xx + r.plans.errors > 0 ? { status: 'ERROR' as const } : {}),
    });
    if (r.firstStep)
      rows.push({
        id: `load.first_step.${id}`,
        figure: `execute → first step p50, ${name}`,
        kind: 'latency',
        value: r.firstStep.p50,
        notes: [`p99 ${r.firstStep.p99.toFixed(0)} ms over ${r.firstStep.n} executions (executor poll 50 ms; includes the sandbox start)`],
        detail: { p50: r.firstStep.p50, p99: r.firstStep.p99 },
      });
  };
  const sqlite: Setup = { engine: 'sqlite', replicas: 1, executors: 1 };
  add('sqlite_r1_e1', sqlite, await measureSetup(sqlite, undefined));
  if (!server) {
    rows.push({
      id: 'load.plans.postgres',
      figure: 'plans/s, PostgreSQL',
      kind: 'rate',
      value: null,
      status: 'SKIP',
      notes: ['skipped: COUNTERSIGN_TEST_DATABASE_URL is not set'],
    });
    return rows;
  }
  for (const replicas of [1, 2])
    for (const executors of [1, 4]) {
      const setup: Setup = { engine: 'postgres', replicas, executors };
      add(`postgres_r${replicas}_e${executors}`, setup, await measureSetup(setup, server));
    }
  return rows;
}
