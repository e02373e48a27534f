import { createHash, type KeyObject } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../config/index.ts';
import { GrantKeyring } from '../grants/index.ts';
import { loadScrapeAccess, Metrics, serveMetrics } from '../metrics/index.ts';
import { loadOverrideVerificationKeys, overrideStepRefusal } from '../overrides/index.ts';
import { type Runtime, systemRuntime } from '../runtime.ts';
import { BubblewrapRunner, type Runner, runUnsandboxedForDevelopment } from '../sandbox/index.ts';
import type { ContextOverrides } from '../server/index.ts';
import {
  dataDirPaths,
  hostPipelineFor,
  keyPaths,
  openStore,
  ToolReloader,
  type ToolReloadOutcome,
  toolSetSource,
  VERSION,
} from '../server/index.ts';
import { backoffMs, isStoreUnavailable, type Store } from '../store/index.ts';
import { processLogLine, startTracing } from '../telemetry/index.ts';
import { loadToolDir, ReloadableToolRegistry, type ToolRegistry } from '../tools/index.ts';
import { manifestTrustAtStart, reportToolLoad, ToolTrustGate } from '../trust/index.ts';
import { PreviewWorker } from './previews.ts';
import { ExecutionWorker, type StepCheckInput } from './worker.ts';

export interface ExecutorOptions extends ContextOverrides {
  /** Tests only: substitute a runner (the production path always builds the sandbox runner). */
  runner?: Runner;
  log?: (line: string) => void;
  owner?: string;
  /** Reuse an open store (same process as the API); it is not closed on stop. */
  store?: Store;
  /** Where this executor serves /metrics (overrides metrics.executorPort; 0: none). */
  metricsPort?: number;
}

export interface RunningExecutor {
  owner: string;
  /** This executor's metrics (also served on its listener when a port is configured). */
  metrics: Metrics;
  runner: Runner['kind'];
  /** Stop claiming; finish (or, past the drain deadline, abort) the current step; checkpoint; close. */
  stop(): Promise<void>;
  done: Promise<void>;
  store: Store;
  /** SIGHUP: re-read and re-verify `<dir>/tools`; the whole new set, or the old one stays. */
  reloadTools(): Promise<ToolReloadOutcome>;
}

/**
 * Builds the runner: the sandbox, or — only when the config's single development switch is on —
 * the unsandboxed development runner, loudly, auditing every run (invariant 9). No sandbox and
 * no development mode: refuse to start (fail closed).
 */
async function buildRunner(
  store: Store,
  developmentMode: boolean,
  dataDir: string,
  owner: string,
  log: (l: string) => void,
): Promise<Runner> {
  if (!developmentMode) return BubblewrapRunner.create({ protectedPaths: [dataDir] });
  log('WARNING: developmentMode is ON — steps run WITHOUT the sandbox, with the executor’s own rights. Never in production.');
  return runUnsandboxedForDevelopment({
    iUnderstandThisIsUnsandboxed: true,
    onUnsandboxedRun: async (run) => {
      await store.scope('-').audit({
        actor: owner,
        action: 'execution.step',
        outcome: 'allowed',
        resource: 'runner:unsandboxed-development',
        details: { warning: 'UNSANDBOXED development-mode run', executable: run.executable, workDir: run.workDir },
      });
    },
  });
}

/**
 * Work directories live outside the data directory (steps must never reach keys or the
 * database), one root per data directory so two installations on a host never share.
 */
export function defaultWorkRoot(dataDir: string): string {
  return join(tmpdir(), 'countersign-work', createHash('sha256').update(dataDir).digest('hex').slice(0, 12));
}

export async function startExecutor(dir: string, options: ExecutorOptions = {}): Promise<RunningExecutor> {
  const env = options.env ?? process.env;
  const config = loadConfig(dataDirPaths(dir).dir, env);
  // replicas: grant and override keys from the path replicas share (keys.dir), checked like ssh keys.
  const paths = keyPaths(dataDirPaths(dir), config);
  const runtime: Runtime = options.runtime ?? systemRuntime;
  const writeLog = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const owner = options.owner ?? `${hostname()}:${process.pid}:${runtime.newId('wkr').slice(-8)}`;
  const grantKeys = new GrantKeyring(paths.keys, false);
  // A caller embedding the executor in its own process (tests, benches) passes its store: one
  // SQLite connection per process, so a synchronous lock wait can never stall the event loop that
  // the lock holder needs to finish.
  const ownStore = !options.store;
  const store = options.store ?? (await openStore(paths.dir, config, options, 'write'));
  // Every executor log line is one JSON object (with the execution and plan ids inside an
  // execution), redacted of the secrets its steps resolved (invariant 12).
  const redact = (text: string) => store.knownSecrets.redact(text);
  const log = (line: string): void => writeLog(processLogLine(line, { process: 'executor', owner }, { redact }));
  // The executor's own metrics (step durations, refusals, audit appends), on its own listener when configured.
  const metrics = new Metrics({ process: 'executor' });
  store.observeAuditAppends((seconds) => metrics.auditAppendSeconds.observe(seconds));
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | null = null;
  const metricsPort = options.metricsPort ?? config.metrics.executorPort;
  let runner: Runner;
  let tools: ToolRegistry;
  let overrideKeys: Map<string, KeyObject>;
  try {
    await store.migrate();
    // The executor verifies manifests itself, against the trust store (invariant 13).
    tools = new ReloadableToolRegistry(loadToolDir(paths.tools, await manifestTrustAtStart(store, config)));
    await reportToolLoad(store, tools, config.developmentMode, 'executor', (l) => log(l));
    overrideKeys = loadOverrideVerificationKeys(paths.keys);
    // The scrape access is checked before anything runs: a bad token file stops the start.
    const access = loadScrapeAccess({ ...config, server: { trustProxy: false } }, paths.dir);
    runner = options.runner ?? (await buildRunner(store, config.developmentMode, paths.dir, owner, log));
    if (metricsPort > 0) {
      metricsServer = await serveMetrics(metrics, access, config.metrics.executorHost, metricsPort).catch(async (err: unknown) => {
        await (runner as Runner & { dispose?: () => Promise<void> }).dispose?.().catch(() => undefined);
        throw err;
      });
      log(`metrics at ${metricsServer.url}`);
    }
  } catch (err) {
    if (ownStore) await store.close();
    throw err;
  }
  // observability: execution and step spans (OpenTelemetry is loaded only when tracing is on).
  const tracing = await startTracing(config.telemetry.tracing, { role: 'executor', version: VERSION });
  const worker = new ExecutionWorker({
    tracing,
    store,
    tools,
    runner,
    grantKeys,
    runtime,
    owner,
    leaseMs: config.executor.leaseSeconds * 1000,
    retry: { attempts: config.executor.retryAttempts, baseMs: config.executor.retryBaseMilliseconds },
    workRoot: config.executor.workDir || defaultWorkRoot(paths.dir),
    secretEnv: env,
    log,
    metrics,
    revalidateStep: stepTrustChecks(
      new ToolTrustGate({ tools, trust: config.trust, developmentMode: config.developmentMode }),
      overrideKeys,
      owner,
    ),
  });
  // previews (issue 17): the same executor runs plans' previews between executions.
  const previews = new PreviewWorker({
    store,
    tools,
    runner,
    runtime,
    owner,
    leaseMs: config.executor.leaseSeconds * 1000,
    workRoot: config.executor.workDir || defaultWorkRoot(paths.dir),
    secretEnv: env,
    log,
  });
  const previewStop = new AbortController();
  // Tool reloads are host operations, decided by the data directory's policies and audited.
  const hostOps = hostPipelineFor(paths.dir, store, config, runtime, undefined, toolSetSource(store, config, paths.tools, tools));
  const reloader = new ToolReloader({ pipeline: hostOps, process: 'executor', log });
  let stopping = false;
  const idle = new AbortController();
  const done = (async () => {
    // Consecutive failed claims: the database is away (restart, failover, partition). Claims back
    // off exponentially (capped at 5 s) and the outage is logged once, not at every poll.
    let failures = 0;
    while (!stopping) {
      let worked = false;
      try {
        worked = await worker.runOnce();
        if (!worked && !stopping) worked = await previews.runOnce(previewStop.signal);
        if (failures > 0) log(`the database answers again after ${failures} failed claim(s); claiming work`);
        failures = 0;
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 50 === 0)
          log(
            `claim failed (retrying with backoff${isStoreUnavailable(err) ? ': the database is unavailable' : ''}): ${(err as Error).message}`,
          );
      }
      const wait =
        failures > 0 ? backoffMs(failures, config.executor.pollMilliseconds, 5_000) : worked ? 0 : config.executor.pollMilliseconds;
      if (wait > 0 && !stopping) await sleep(wait, undefined, { signal: idle.signal }).catch(() => undefined);
    }
  })();
  return {
    owner,
    metrics,
    runner: runner.kind,
    store,
    async stop() {
      if (stopping) return done;
      stopping = true;
      worker.drain();
      idle.abort();
      previewStop.abort();
      const deadline = setTimeout(() => worker.abortCurrent(), config.executor.drainSeconds * 1000);
      await done;
      clearTimeout(deadline);
      await store.checkpoint().catch(() => undefined);
      await (runner as Runner & { dispose?: () => Promise<void> }).dispose?.().catch(() => undefined);
      await metricsServer?.close();
      await tracing.shutdown();
      if (ownStore) await store.close();
    },
    done,
    reloadTools: () => reloader.reload(),
  };
}

/**
 * Before every step (invariants 8, 13, 14): an override execution's override is re-read and must
 * be unrevoked and still verify; the step's tool must still carry the signatures its environment
 * requires from keys trusted *now*. A tool allowed only by development mode is audited each time.
 */
function stepTrustChecks(gate: ToolTrustGate, overrideKeys: Map<string, KeyObject>, owner: string) {
  return async ({ scope, exec, claims, step }: StepCheckInput): Promise<string | null> => {
    const override = await overrideStepRefusal(scope, exec, claims.override, overrideKeys);
    if (override) return override;
    const verdict = await gate.stepVerdict(scope.installationTrust, exec.environment, step.tool);
    if (!verdict.ok) return verdict.reason;
    if (verdict.unsigned) {
      await scope.audit({
        actor: owner,
        action: 'execution.step',
        outcome: 'allowed',
        resource: `execution:${exec.id}`,
        details: {
          phase: step.phase,
          index: step.idx,
          tool: step.tool,
          warning: 'UNSIGNED tool manifest (developmentMode)',
          why: verdict.shortfall,
        },
      });
    }
    return null;
  };
}
