// Figures: one no-op step in the sandbox (seccomp filter and disk budget in place) against a bare
// spawn('/bin/true') and against bare bubblewrap, as the first step of an execution (which mounts
// its work directory's disk) and as a later one; 50 concurrent no-op steps against 50 concurrent
// bare spawns; and static analysis of a 200-line shell and Python script (issue 5). Each product
// figure beside its floor, same run.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeScript, closeAnalysis } from '../src/analysis/index.ts';
import { BubblewrapRunner } from '../src/sandbox/index.ts';
import { buildSeccompProgram } from '../src/sandbox/seccomp.ts';
import { SandboxProfileSchema } from '../src/tools/manifest.ts';
import { median, nowMs, percentiles, progress, type Row, type Target, tempDir } from './lib.ts';
import { BARE_BWRAP, timedSpawn } from './support/bwrap.ts';

const STEPS = 60;
const CONCURRENT = 50;
const OVERHEAD: Target = { op: '<=', value: 5, on: 'overhead', text: '≤ 5 ms over bare spawn' };
/** DESIGN.md: a sandboxed step within 2 ms of a bare bubblewrap, limits and cgroup included. */
const OVER_BWRAP: Target = { op: '<=', value: 2, on: 'overhead', text: '≤ 2 ms over bare bwrap' };
/** DESIGN.md: 50 concurrent sandboxed steps ≥ 70% of 50 bare spawns' throughput. */
const CONCURRENT_TARGET: Target = { op: '>=', value: 0.7, on: 'ratio', text: '≥ 70% of floor' };

export async function run(): Promise<Row[]> {
  const tmp = tempDir('cs-bench-sandbox-');
  // The sandbox's host user must traverse to its work directory (as the executor's work root is).
  chmodSync(tmp.path, 0o711);
  const runner = await BubblewrapRunner.create();
  const rlimitsOnly = await BubblewrapRunner.create({ cgroups: 'off' });
  // The third floor: bare bubblewrap loading the same seccomp program, from a file descriptor.
  const bpfFile = join(tmp.path, 'filter.bpf');
  writeFileSync(bpfFile, (await buildSeccompProgram()).bpf);
  const SECCOMP_FD = 3;
  const bwrapSeccomp = async () => {
    const fd = openSync(bpfFile, 'r');
    try {
      return await timedSpawn('bwrap', ['--seccomp', String(SECCOMP_FD), ...BARE_BWRAP], ['ignore', 'ignore', 'ignore', fd]);
    } finally {
      closeSync(fd);
    }
  };
  const profile = SandboxProfileSchema.parse({});
  const sha = createHash('sha256').update(readFileSync('/usr/bin/true')).digest('hex');
  const workDir = (i: number) => {
    const d = join(tmp.path, `w${i}`);
    mkdirSync(d, { recursive: true, mode: 0o700 });
    return d;
  };
  const step = async (i: number, using = runner) => {
    const start = nowMs();
    const r = await using.run({ executable: '/usr/bin/true', expectedSha256: sha, argv: [], profile, workDir: workDir(i), secrets: {} });
    if (r.exitCode !== 0) throw new Error(`sandboxed /bin/true exited ${r.exitCode}: ${r.stderr}`);
    return nowMs() - start;
  };
  /**
   * A step that is its execution's only one: its work directory's disk is released after it, as
   * the executor releases it when an execution ends. (Left mounted, each adds two mounts to the
   * host's table, which every bubblewrap start copies: 120 of them made bare bubblewrap ~60% and
   * a step ~80% slower here, a cost of the bench's leftovers, not of a step.)
   */
  const onlyStep = async (i: number, using = runner) => {
    try {
      return await step(i, using);
    } finally {
      await using.releaseWorkDir(workDir(i));
    }
  };
  const mounts = () => readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').length;
  try {
    progress(`sandbox: ${STEPS} no-op steps, alternating with bare spawn and bare bubblewrap`);
    const bare: number[] = [];
    const bwrap: number[] = [];
    const bwrapFiltered: number[] = [];
    const sandboxed: number[] = [];
    const later: number[] = [];
    const plain: number[] = [];
    // One work directory for every "later step": its disk is mounted once, by the warm-up.
    const LATER = 3000;
    for (let i = 0; i < 5; i++) {
      await timedSpawn('/bin/true', []);
      await bwrapSeccomp();
      await onlyStep(1000 + i);
      await step(LATER);
    }
    for (let i = 0; i < STEPS; i++) {
      bare.push(await timedSpawn('/bin/true', []));
      bwrap.push(await timedSpawn('bwrap', BARE_BWRAP));
      bwrapFiltered.push(await bwrapSeccomp());
      sandboxed.push(await onlyStep(i));
      later.push(await step(LATER));
      plain.push(await onlyStep(500 + i, rlimitsOnly));
    }
    const mountsDuringSteps = mounts();
    const rssDuringSteps = process.memoryUsage().rss;
    progress(`sandbox: ${CONCURRENT} concurrent steps vs ${CONCURRENT} concurrent bare spawns`);
    const t0 = nowMs();
    const bareConc = await Promise.all(Array.from({ length: CONCURRENT }, () => timedSpawn('/bin/true', [])));
    const bareWall = nowMs() - t0;
    const t1 = nowMs();
    const stepConc = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => onlyStep(2000 + i)));
    const stepWall = nowMs() - t1;

    progress('sandbox: static analysis of 200-line scripts');
    const fixtures = join(import.meta.dirname, '..', 'src', 'analysis', 'fixtures');
    const analysis = async (language: 'bash' | 'python', file: string) => {
      const script = readFileSync(join(fixtures, file), 'utf8');
      await analyzeScript({ language, script, profile });
      const times: number[] = [];
      for (let i = 0; i < 30; i++) {
        const s = nowMs();
        await analyzeScript({ language, script, profile });
        times.push(nowMs() - s);
      }
      return { ms: median(times), lines: script.split('\n').length };
    };
    const sh = await analysis('bash', 'benign-ops.sh');
    const py = await analysis('python', 'benign-ops.py');
    await closeAnalysis();

    return [
      {
        id: 'sandbox.step.p50',
        figure: 'sandbox no-op step, first of its execution (mounts the disk), p50',
        kind: 'latency',
        value: median(sandboxed),
        floor: { label: 'bare spawn(/bin/true)', value: median(bare) },
        target: OVERHEAD,
        notes: [
          `bare bubblewrap (second floor): ${median(bwrap).toFixed(2)} ms p50; with the seccomp program: ${median(bwrapFiltered).toFixed(2)} ms; runner cgroups: ${runner.cgroupVersion ?? 'none (rlimits only)'}`,
          'seccomp filter and disk budget in place (the work directory and /tmp on a size-limited tmpfs)',
          `the host's mount table held ${mountsDuringSteps} mounts (each execution's work disk adds two while it runs; bubblewrap copies the table at every start, so more active executions make every start slower, bare bubblewrap too)`,
          `this process's resident memory: ${Math.round(rssDuringSteps / 1e6)} MB. Node forks the whole process for every spawn, copying its page tables, so every figure and floor here grows with it (and a step in the executor with the executor's memory)`,
        ],
      },
      {
        id: 'sandbox.step.later.p50',
        figure: 'sandbox no-op step, later step of an execution, p50',
        kind: 'latency',
        value: median(later),
        floor: { label: 'bare spawn(/bin/true)', value: median(bare) },
        target: OVERHEAD,
        notes: ['the work directory already has its disk: no mount, one /tmp folder per step'],
      },
      {
        id: 'sandbox.bwrap_seccomp.p50',
        figure: 'bare bubblewrap loading the seccomp program, p50',
        kind: 'latency',
        value: median(bwrapFiltered),
        floor: { label: 'bare bubblewrap', value: median(bwrap) },
      },
      {
        id: 'sandbox.step.rlimits_only.p50',
        figure: 'sandbox no-op step, rlimits only, p50',
        kind: 'latency',
        value: median(plain),
        floor: { label: 'bare spawn(/bin/true)', value: median(bare) },
        target: OVERHEAD,
        notes: ['the same runner with cgroups off (hosts where no cgroup controller is writable)'],
      },
      {
        id: 'sandbox.step.vs_bwrap',
        figure: 'sandbox no-op step (first of its execution) vs bare bubblewrap',
        kind: 'latency',
        value: median(sandboxed),
        floor: { label: 'bare bubblewrap', value: median(bwrap) },
        target: OVER_BWRAP,
      },
      {
        id: 'sandbox.step.later.vs_bwrap',
        figure: 'sandbox no-op step (later step) vs bare bubblewrap',
        kind: 'latency',
        value: median(later),
        floor: { label: 'bare bubblewrap', value: median(bwrap) },
        target: OVER_BWRAP,
      },
      {
        id: 'sandbox.concurrent.rate',
        figure: `${CONCURRENT} concurrent sandboxed steps`,
        kind: 'rate',
        value: (CONCURRENT * 1000) / stepWall,
        floor: { label: `${CONCURRENT} concurrent bare spawns`, value: (CONCURRENT * 1000) / bareWall },
        target: CONCURRENT_TARGET,
        notes: [
          `p99 ${percentiles(Float64Array.from(stepConc)).p99.toFixed(1)} ms vs bare ${percentiles(Float64Array.from(bareConc)).p99.toFixed(1)} ms`,
        ],
      },
      { id: 'analysis.shell', figure: `static analysis, ${sh.lines}-line shell script`, kind: 'latency', value: sh.ms },
      { id: 'analysis.python', figure: `static analysis, ${py.lines}-line Python script`, kind: 'latency', value: py.ms },
    ];
  } finally {
    await runner.dispose();
    await rlimitsOnly.dispose();
    tmp.remove();
  }
}
