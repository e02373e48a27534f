import type { Command } from 'commander';
import type { SandboxHostReport } from '../../sandbox/index.ts';
import { defaultDataDir } from '../../server/datadir.ts';
import { emit, type Io, verdict } from '../output.ts';

/** `sandbox check` for a person: one line per capability, then the verdict. */
export function describeSandboxReport(report: SandboxHostReport, io: Io): string {
  const width = Math.max(...report.items.map((i) => i.name.length));
  const lines = report.items.map((i) => `${verdict(io, i.ok, i.ok ? 'ok  ' : 'FAIL')}  ${i.name.padEnd(width)}  ${i.detail}`);
  lines.push(
    '',
    `cgroup limits: ${report.cgroupVersion ?? 'none (rlimits only)'}`,
    report.ok
      ? `${verdict(io, true, 'OK')}: steps can run sandboxed on this host.`
      : `${verdict(io, false, 'NOT READY')}: steps cannot be sandboxed here; the executor refuses to start until the failures above are fixed.`,
  );
  return lines.join('\n');
}

export function registerExecutor(program: Command, io: Io): void {
  program
    .command('executor')
    .description('Run an executor: the only process that runs tools, each step in its own sandbox. `serve` starts one for you.')
    .option('--dir <dir>', 'data directory (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--database-url <url>', 'PostgreSQL URL (env COUNTERSIGN_DATABASE_URL)')
    .option('--metrics-port <port>', 'serve this executor’s /metrics on this port (default: metrics.executorPort; 0: none)')
    .addHelpText(
      'after',
      '\nRuns until SIGTERM/SIGINT, then finishes or releases its current step and exits 0.\nSIGHUP reloads the tools (all of <dir>/tools verified, or the old set stays).\nRefuses to start without a working sandbox (see `countersign sandbox check`).\n',
    )
    .action(async (opts: { dir: string; databaseUrl?: string; metricsPort?: string }) => {
      // SIGHUP reloads the tools. Handled from the first moment: a reload asked for during start
      // runs once the executor is up, instead of the signal's default of ending the process.
      let running: { reloadTools(): Promise<unknown> } | null = null;
      let reloadAsked = false;
      process.on('SIGHUP', () => {
        if (running) void running.reloadTools();
        else reloadAsked = true;
      });
      const [{ startExecutor }, { watchSupervisor }, { processLogLine }] = await Promise.all([
        import('../../executor/executor.ts'),
        import('../../server/supervisor.ts'),
        import('../../telemetry/index.ts'),
      ]);
      const metricsPort = opts.metricsPort === undefined ? undefined : Number(opts.metricsPort);
      if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535))
        throw new Error(`--metrics-port must be a number from 0 to 65535, got "${opts.metricsPort}"`);
      // Its log lines are JSON (src/telemetry/process-log.ts), like the API's.
      const exe = await startExecutor(opts.dir, { databaseUrl: opts.databaseUrl, metricsPort, log: (l) => io.err(l) });
      running = exe;
      const say = (msg: string) => io.err(processLogLine(msg, { process: 'executor', owner: exe.owner }));
      say(`executor ${exe.owner} started (${exe.runner})`);
      if (reloadAsked) void exe.reloadTools();
      await new Promise<void>((resolve) => {
        const stop = (sig: string) => {
          say(`executor received ${sig}: draining`);
          void exe.stop().then(resolve, resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        watchSupervisor(() => stop('loss of its supervisor'));
      });
    });

  const sandbox = program.command('sandbox').description('Inspect the sandbox this host can provide.');
  sandbox
    .command('check')
    .description('Report bubblewrap, user namespaces, rlimits, socat and cgroups; exit 1 when steps cannot be sandboxed.')
    .option('--json', 'machine-readable report')
    .action(async (opts: { json?: boolean }) => {
      const { checkSandboxHost } = await import('../../sandbox/index.ts');
      const report = await checkSandboxHost();
      emit(io, Boolean(opts.json), report, () => describeSandboxReport(report, io));
      if (!report.ok) process.exitCode = 1;
    });
}
