// Figure: how long the installed CLI takes to answer, as a user runs it (`bin/countersign.js`, the
// compiled dist/): `--help`, and `status` against a real API server on loopback — each beside a
// bare `node -e 0` started the same way in the same run (DESIGN.md target: ≤ 2× that floor).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { median, nowMs, owe, progress, type Row, type Target } from './lib.ts';
import { freshDataDir } from './support/datadir.ts';

const RUNS = 15;
const BIN = fileURLToPath(new URL('../bin/countersign.js', import.meta.url));
const DIST_ENTRY = fileURLToPath(new URL('../dist/bundle/cli.js', import.meta.url));

/** Wall time of one process start to exit, and whether it exited as expected. */
function timeRun(args: readonly string[], env: NodeJS.ProcessEnv, expectCode: number): { ms: number; ok: boolean; stderr: string } {
  const t = nowMs();
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = nowMs() - t;
  return { ms, ok: r.status === expectCode, stderr: r.stderr ?? '' };
}

/** `countersign api` on a free loopback port, resolved with its URL once it listens. */
function startApi(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, 'api', '--dir', dir, '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /"url":\s*"([^"]+)"/.exec(out);
      if (m?.[1]) resolve({ url: m[1], child });
    });
    child.stderr?.on('data', (d) => (err += d));
    child.once('exit', (code) => reject(new Error(`countersign api exited (${code}) before listening: ${err.trim()}`)));
  });
}

export async function run(): Promise<Row[]> {
  if (!existsSync(DIST_ENTRY)) throw new Error('dist/ is missing: run `npm run build` first (the figure times the installed CLI)');
  const data = await freshDataDir('cli');
  let api: ChildProcess | null = null;
  const stopApi = owe(() => {
    api?.kill('SIGKILL');
  });
  try {
    progress('cli: starting an API server');
    const started = await startApi(data.dir);
    api = started.child;
    const env = { ...process.env, COUNTERSIGN_SERVER: started.url, COUNTERSIGN_TOKEN: data.init.adminKey, NO_COLOR: '1' };
    const unreachable = { ...env, COUNTERSIGN_SERVER: 'http://127.0.0.1:9' };
    const cases = {
      floor: () => timeRun(['-e', '0'], env, 0),
      help: () => timeRun([BIN, '--help'], env, 0),
      status: () => timeRun([BIN, 'status'], env, 0),
      unreachable: () => timeRun([BIN, 'status'], unreachable, 9),
    };
    // One untimed round loads the files into the page cache; then the cases alternate, so a
    // noisy neighbour lands on the figures and the floor alike.
    for (const c of Object.values(cases)) c();
    const times: Record<keyof typeof cases, number[]> = { floor: [], help: [], status: [], unreachable: [] };
    const failures: string[] = [];
    progress(`cli: ${RUNS} rounds of node -e 0, --help, status, status without a server`);
    for (let i = 0; i < RUNS; i++) {
      for (const [name, c] of Object.entries(cases) as [keyof typeof cases, () => ReturnType<typeof timeRun>][]) {
        const r = c();
        times[name].push(r.ms);
        if (!r.ok && failures.length < 3) failures.push(`${name}: ${r.stderr.trim().split('\n')[0] ?? 'unexpected exit code'}`);
      }
    }
    const floor = { label: 'node -e 0', value: median(times.floor) };
    const target: Target = { op: '<=', value: floor.value, on: 'overhead', text: '≤ 2× node -e 0' };
    const row = (id: string, figure: string, samples: number[]): Row => ({
      id,
      figure,
      kind: 'latency',
      value: median(samples),
      floor,
      target,
      detail: { runs: RUNS, ratioToFloor: Math.round((100 * median(samples)) / floor.value) / 100 },
      ...(failures.length > 0 ? { status: 'ERROR' as const, notes: failures } : {}),
    });
    return [
      row('cli.help', 'countersign --help', times.help),
      row('cli.status', 'countersign status (real server)', times.status),
      row('cli.status_unreachable', 'countersign status (no server)', times.unreachable),
    ];
  } finally {
    await stopApi();
    data.remove();
  }
}
