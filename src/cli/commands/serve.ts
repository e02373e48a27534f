import type { Command } from 'commander';
import { CountersignError } from '../../errors/index.ts';
import { defaultDataDir, isInitialized } from '../../server/datadir.ts';
import type { ServerContext } from '../../server/index.ts';
import { VERSION } from '../../server/version.ts';
import { emit, type Io } from '../output.ts';
import { describeInit } from './init.ts';

// The server's modules (Fastify, the store, Cedar) load when a command runs, not when the CLI
// starts: `countersign --help` and the remote commands never pay for them.

interface ServeOptions {
  dir: string;
  host?: string;
  port?: string;
  databaseUrl?: string;
  json?: boolean;
  logLevel: string;
}

/**
 * SIGHUP reloads the policy set through the `policy.reload` host operation (and the tools:
 * src/server/tool-reload.ts); a refused set keeps the old one.
 */
async function reloadPolicies(ctx: ServerContext, io: Io): Promise<void> {
  const { systemPrincipal } = await import('../../operations/index.ts');
  try {
    await ctx.pipeline.run('policy.reload', systemPrincipal(), {}, 'host');
    io.err('policies reloaded');
  } catch (err) {
    io.err(`policy reload REFUSED, previous policy set kept: ${(err as Error).message}`);
  }
}

function parsePort(p: string | undefined, fallback: number): number {
  if (p === undefined) return fallback;
  const n = Number(p);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port must be a number from 0 to 65535, got "${p}"`);
  return n;
}

/**
 * Listens, or says why not in words a newcomer can act on: what holds the port (when this host
 * lets us see it) and how to pick another (the PORT_IN_USE hint).
 */
async function listen(app: { listen(o: { host: string; port: number }): Promise<string> }, host: string, port: number): Promise<string> {
  try {
    return await app.listen({ host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      const { describePortHolders, findPortHolders } = await import('../../server/port-holder.ts');
      throw new CountersignError(
        'PORT_IN_USE',
        `cannot listen on ${host}:${port}: the port is in use by ${describePortHolders(findPortHolders(port))}`,
        {
          cause: err,
        },
      );
    }
    if (code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      const why = code === 'EACCES' ? 'ports below 1024 need privileges' : `${host} is not an address of this host`;
      throw new CountersignError(
        'CONFIG_INVALID',
        `cannot listen on ${host}:${port}: ${why} (--host/--port, or server.host/server.port in countersign.yaml)`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

/** Starts the API and keeps it up until SIGINT/SIGTERM, then drains and checkpoints the audit log. */
export async function serveApi(opts: ServeOptions, io: Io): Promise<void> {
  // SIGHUP is handled from the first moment: one that comes during start reloads once the API
  // is up, instead of the signal's default of ending the process.
  let reload: (() => void) | null = null;
  let reloadAsked = false;
  process.on('SIGHUP', () => {
    if (reload) reload();
    else reloadAsked = true;
  });
  const [
    { buildApi },
    { openServerContext },
    { notifySupervisorListening, watchSupervisor },
    { systemPrincipal },
    { startExpirySweeper },
    { ToolReloader },
    { SettingsReloader },
    { startTracing },
    { checkStepUp },
  ] = await Promise.all([
    import('../../api/app.ts'),
    import('../../server/context.ts'),
    import('../../server/supervisor.ts'),
    import('../../operations/index.ts'),
    import('../../server/sweeper.ts'),
    import('../../server/tool-reload.ts'),
    import('../../server/settings-reload.ts'),
    import('../../telemetry/index.ts'),
    import('../../doctor/index.ts'),
  ]);
  const ctx = await openServerContext(opts.dir, { databaseUrl: opts.databaseUrl });
  // observability: OpenTelemetry is loaded only when telemetry.tracing.enabled is set.
  const tracing = await startTracing(ctx.config.telemetry.tracing, { role: 'api', version: VERSION });
  const host = opts.host ?? ctx.config.server.host;
  const port = parsePort(opts.port, ctx.config.server.port);
  const app = await buildApi(ctx, {
    bodyLimitBytes: ctx.config.server.bodyLimitBytes,
    trustProxy: ctx.config.server.trustProxy,
    rateLimit: ctx.config.rateLimit,
    version: VERSION,
    logger: { level: opts.logLevel },
    tracing,
  });
  if (ctx.config.developmentMode) io.err('WARNING: developmentMode is ON — not for production. See countersign.yaml.');
  const stepUp = checkStepUp(ctx.config);
  if (stepUp.result === 'FAIL') io.err(`WARNING: ${stepUp.evidence}.`);
  let address: string;
  try {
    address = await listen(app, host, port);
  } catch (err) {
    await app.close();
    await tracing.shutdown();
    await ctx.close();
    throw err;
  }
  // Audited once it listens: a start that failed to bind is not a start.
  await ctx.pipeline.run('system.start', systemPrincipal(), { details: { version: VERSION } }, 'host');
  const stopSweeper = startExpirySweeper(ctx, (line) => io.err(line));
  ctx.dispatcher?.start(); // notifications (issue 14): the outbox worker, beside the API
  ctx.publisher?.start(); // audit witnesses (issue 17): checkpoints handed out for cosigning
  const url = address.replace('[::1]', 'localhost');
  emit(io, Boolean(opts.json), { url, dir: ctx.dir, store: ctx.store.engine, version: VERSION }, () =>
    [
      `Countersign ${VERSION} listening on ${url}`,
      `  data dir: ${ctx.dir}`,
      `  store:    ${ctx.store.engine}`,
      ...(ctx.config.console.enabled ? [`  console:  ${url}/`] : []),
      `  API docs: ${url}/docs`,
    ].join('\n'),
  );
  notifySupervisorListening();
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      io.err(`received ${signal}: draining`);
      try {
        stopSweeper();
        await app.close();
        await ctx.pipeline.run('system.stop', systemPrincipal(), { details: { signal } }, 'host');
        await ctx.store.checkpoint();
      } finally {
        await tracing.shutdown();
        await ctx.close();
        resolve();
      }
    };
    const tools = new ToolReloader({ pipeline: ctx.pipeline, process: 'api', log: (l) => io.err(l) });
    // replicas: countersign.yaml and the playbooks after the tools, whose set playbooks are checked against.
    const settings = new SettingsReloader({ pipeline: ctx.pipeline, log: (l) => io.err(l) });
    reload = () => {
      void reloadPolicies(ctx, io);
      void tools.reload().then(() => settings.reload());
    };
    if (reloadAsked) reload();
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    watchSupervisor(() => void stop('loss of its supervisor'));
  });
}

function serveOptions(cmd: Command): Command {
  return cmd
    .option('--dir <dir>', 'data directory (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--host <host>', 'address to listen on (default from config: 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default from config: 7400)')
    .option('--database-url <url>', 'PostgreSQL URL (env COUNTERSIGN_DATABASE_URL)')
    .option('--log-level <level>', 'server log level: fatal, error, warn, info, debug', 'warn')
    .option('--json', 'print the start banner as JSON');
}

/** Flags the supervisor passes on to the API child. */
function apiArgs(opts: ServeOptions): string[] {
  const a = ['--log-level', opts.logLevel];
  if (opts.host) a.push('--host', opts.host);
  if (opts.port) a.push('--port', opts.port);
  if (opts.databaseUrl) a.push('--database-url', opts.databaseUrl);
  if (opts.json) a.push('--json');
  return a;
}

async function serveBoth(opts: ServeOptions, io: Io): Promise<void> {
  const [{ superviseApiAndExecutor }, { checkStoreBinding }, { processLogLine }] = await Promise.all([
    import('../../server/supervisor.ts'),
    import('../../server/store-binding.ts'),
    import('../../telemetry/index.ts'),
  ]);
  // One clear refusal (wrong store, missing store) before two processes would each print it.
  await checkStoreBinding(opts.dir, { databaseUrl: opts.databaseUrl });
  const code = await superviseApiAndExecutor({
    dir: opts.dir,
    apiArgs: apiArgs(opts),
    executorArgs: opts.databaseUrl ? ['--database-url', opts.databaseUrl] : [],
    log: (l) => io.err(processLogLine(l, { process: 'supervisor' })),
  });
  if (code !== 0) process.exitCode = code;
}

export function registerServe(program: Command, io: Io): void {
  serveOptions(program.command('serve'))
    .description('Start Countersign: the API server and one executor, as two processes (the API holds no tool credentials).')
    .addHelpText('after', '\nExamples:\n  countersign serve\n  countersign serve --dir /var/lib/countersign --host 0.0.0.0 --port 7400\n')
    .action(async (opts: ServeOptions) => serveBoth(opts, io));

  serveOptions(program.command('api'))
    .description('Run only the API server (scale-out: many API replicas and executors share one PostgreSQL).')
    .action(async (opts: ServeOptions) => serveApi(opts, io));

  serveOptions(program.command('up'))
    .description('Initialize the data directory if needed (printing the admin key once), then serve. What `npm start` runs.')
    .action(async (opts: ServeOptions) => {
      if (!isInitialized(opts.dir)) {
        const { initDataDir } = await import('../../server/init.ts');
        const r = await initDataDir(opts.dir, { databaseUrl: opts.databaseUrl });
        emit(io, Boolean(opts.json), r, () => `${describeInit(r, true)}\n`);
      } else if (!opts.json) {
        io.out(`Using existing data directory ${opts.dir} (its admin key was printed by init).`);
      }
      await serveBoth(opts, io);
    });
}
