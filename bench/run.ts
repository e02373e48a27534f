// `npm run bench [-- NAME…] [--json]`: runs the figures in order and prints each beside its floor
// measured in the same run and its DESIGN.md target. NAME selects figures whose name contains it
// (`audit` runs audit-append and audit-verify). Progress goes to stderr; the table or JSON to stdout.
//
// To add a figure: write bench/<name>.ts exporting `async function run(): Promise<Row[]>` and add
// it to FIGURES below.
import { cpus, loadavg, totalmem } from 'node:os';
import { type BenchModule, progress, type Row, renderTable, verdict } from './lib.ts';

const FIGURES: readonly BenchModule[] = [
  {
    name: 'audit-append',
    about: 'audit entries/s through TenantScope.audit vs bare SQLite insert',
    load: () => import('./audit-append.ts'),
  },
  { name: 'audit-verify', about: 'audit entries/s through verifyAuditChain vs bare SHA-256', load: () => import('./audit-verify.ts') },
  {
    name: 'audit-proofs',
    about: 'one entry checked by its Merkle proof vs the full chain walk; checkpoint cost per 1,000 entries',
    load: () => import('./audit-proofs.ts'),
  },
  { name: 'grants', about: 'grant mint+verify vs bare Ed25519 sign+verify', load: () => import('./grants.ts') },
  { name: 'redaction', about: 'output redaction MB/s vs bare copy and indexOf', load: () => import('./redaction.ts') },
  {
    name: 'sandbox',
    about: 'sandboxed no-op step vs bare spawn and bare bubblewrap; 50 concurrent; script analysis',
    load: () => import('./sandbox.ts'),
  },
  { name: 'e2e', about: 'propose → approve → execute a no-op step, server side, vs the sum of its parts', load: () => import('./e2e.ts') },
  { name: 'cli', about: 'countersign --help and status (real server) vs a bare node -e 0', load: () => import('./cli.ts') },
  { name: 'decision', about: 'requirePrivilege decision p50/p99 vs bare Cedar', load: () => import('./decision.ts') },
  { name: 'plans-sqlite', about: 'POST /v1/plans over HTTP on SQLite vs bare Fastify route', load: () => import('./plans-sqlite.ts') },
  {
    name: 'plans-postgres',
    about: 'POST /v1/plans over HTTP on PostgreSQL (needs COUNTERSIGN_TEST_DATABASE_URL)',
    load: () => import('./plans-postgres.ts'),
  },
  // scale-out (`npm run bench:load`): minutes, not part of a plain `npm run bench`
  {
    name: 'load',
    about: 'plans/s and p99 with 1-2 API replicas and 1-4 executors on PostgreSQL vs SQLite and a bare route; execute → first step',
    load: () => import('./load.ts'),
  },
  // alerts
  { name: 'alerts', about: 'alert → proposed plan over HTTP without a model vs the bare plan proposal', load: () => import('./alerts.ts') },
  // ---- notifications (issue 14) ----
  {
    name: 'notifications',
    about: 'fan-out of 1,000 pending plans through the outbox to a Slack fake vs the bare Slack client',
    load: () => import('./notifications.ts'),
  },
  // --- reviewer console (issue 13) ---
  {
    name: 'console',
    about: 'console plan page read (time, bytes) vs the API JSON read of the same plan',
    load: () => import('./console.ts'),
  },
  // ---- replicas: shared request budgets ----
  {
    name: 'limits',
    about: 'request budget shared by replicas on PostgreSQL (per request, and reserved) vs the in-process limiter',
    load: () => import('./limits.ts'),
  },
  // ---- observability (issue 16) ----
  {
    name: 'tracing',
    about: 'POST /v1/plans with OpenTelemetry tracing on vs the same server with it off',
    load: () => import('./tracing.ts'),
  },
  // ---- previews (issue 17) ----
  {
    name: 'previews',
    about: 'propose → pending_approval with one previewed step vs a bare sandboxed no-op step',
    load: () => import('./previews.ts'),
  },
];

interface Args {
  names: string[];
  json: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { names: [], json: false };
  for (const a of argv) {
    if (a === '--json') args.json = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        `usage: npm run bench [-- NAME…] [--json]\n  NAME selects figures whose name contains it; --json prints machine-readable rows\n  (use "npm run -s bench -- --json" so npm adds no banner to stdout)\n\nfigures:\n${FIGURES.map((f) => `  ${f.name.padEnd(16)}${f.about}`).join('\n')}\n`,
      );
      process.exit(0);
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a} (try --help)`);
    else args.names.push(a);
  }
  return args;
}

function select(names: readonly string[]): BenchModule[] {
  // The load figure takes minutes and needs processes of its own: only by name (`npm run bench:load`).
  if (names.length === 0) return FIGURES.filter((f) => f.name !== 'load');
  for (const n of names) {
    if (!FIGURES.some((f) => f.name.includes(n))) {
      throw new Error(`no figure matches "${n}"; figures: ${FIGURES.map((f) => f.name).join(', ')}`);
    }
  }
  return FIGURES.filter((f) => names.some((n) => f.name.includes(n)));
}

function machine() {
  const cpu = cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    /** 1-minute load average: figures taken on a busy shared machine read low, floors included. */
    loadAverage1m: Math.round(loadavg()[0]! * 10) / 10,
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const figures = select(args.names);
  const started = new Date();
  const loadAtStart = machine().loadAverage1m;
  const rows: Row[] = [];
  const failures: { figure: string; error: string }[] = [];
  for (const f of figures) {
    progress(`${f.name}…`);
    const t = performance.now();
    try {
      const mod = await f.load();
      rows.push(...(await mod.run()));
    } catch (err) {
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      failures.push({ figure: f.name, error });
      rows.push({ id: f.name, figure: f.name, kind: 'rate', value: null, status: 'ERROR', notes: [`crashed: ${error.split('\n')[0]}`] });
    }
    progress(`${f.name} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const seconds = (Date.now() - started.getTime()) / 1000;
  const m = { ...machine(), loadAverage1mAtStart: loadAtStart };
  if (args.json) {
    const out = { startedAt: started.toISOString(), seconds, machine: m, rows: rows.map((r) => ({ ...r, result: verdict(r) })), failures };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    process.stdout.write(
      `\nCountersign bench — ${m.cpus} × ${m.cpuModel}, Node ${m.node}, ${started.toISOString()}, ${seconds.toFixed(0)} s, load average ${loadAtStart} → ${m.loadAverage1m}\n\n`,
    );
    process.stdout.write(`${renderTable(rows)}\n`);
    for (const f of failures) process.stderr.write(`\n${f.figure} failed:\n${f.error}\n`);
  }
  // A crashed figure or a failed correctness check is an error; a missed target is a result, not a failure.
  return rows.some((r) => r.status === 'ERROR') ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
