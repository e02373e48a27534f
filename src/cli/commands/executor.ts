import type { Command } from 'commander';
import { type RunningExecutor, startExecutor } from '../../executor/executor.ts';
import { checkSandboxHost } from '../../sandbox/index.ts';
import { defaultDataDir } from '../../server/datadir.ts';
import { watchSupervisor } from '../../server/supervisor.ts';
import { emit, type Io } from '../output.ts';

export function registerExecutor(program: Command, io: Io): void {
  program
    .command('executor')
    .description('Run an executor: the only process that runs tools, each step in its own sandbox. `serve` starts one for you.')
    .option('--dir <dir>', 'data directory (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--database-url <url>', 'PostgreSQL URL (env COUNTERSIGN_DATABASE_URL)')
    .addHelpText(
      'after',
      '\nRuns until SIGTERM/SIGINT, then finishes or releases its current step and exits 0.\nSIGHUP reloads the tools (all of <dir>/tools verified, or the old set stays).\nRefuses to start without a working sandbox (see `countersign sandbox check`).\n',
    )
    .action(async (opts: { dir: string; databaseUrl?: string }) => {
      // SIGHUP reloads the tools. Handled from the first moment: a reload asked for during start
      // runs once the executor is up, instead of the signal's default of ending the process.
      let running: RunningExecutor | null = null;
      let reloadAsked = false;
      process.on('SIGHUP', () => {
        if (running) void running.reloadTools();
        else reloadAsked = true;
      });
      const exe = await startExecutor(opts.dir, { databaseUrl: opts.databaseUrl, log: (l) => io.err(`executor: ${l}`) });
      running = exe;
      io.err(`executor ${exe.owner} started (${exe.runner})`);
      if (reloadAsked) void exe.reloadTools();
      await new Promise<void>((resolve) => {
        const stop = (sig: string) => {
          io.err(`executor received ${sig}: draining`);
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
      const report = await checkSandboxHost();
      emit(io, Boolean(opts.json), report, () => JSON.stringify(report, null, 2));
      if (!(report as { ok?: boolean }).ok) process.exitCode = 1;
    });
}
