import { type ChildProcess, spawn } from 'node:child_process';
import { secretVariablesNamedInToolDir } from '../tools/index.ts';
import { dataDirPaths } from './datadir.ts';

/** Variables that are tool credentials: named by a manifest's `env:` secret, or by convention. */
export function credentialVariables(dir: string, env: NodeJS.ProcessEnv): string[] {
  // Read without signature checks on purpose: this only removes variables from the API's
  // environment, and an unverified manifest can only make that removal larger.
  const named = new Set<string>(secretVariablesNamedInToolDir(dataDirPaths(dir).tools));
  for (const k of Object.keys(env)) if (k.startsWith('COUNTERSIGN_SECRET_')) named.add(k);
  return [...named].filter((k) => env[k] !== undefined);
}

/** The API process's environment: everything but tool credentials (DESIGN.md process roles). */
export function apiEnvironment(dir: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of credentialVariables(dir, env)) delete out[k];
  return out;
}

export interface SupervisorOptions {
  dir: string;
  /** Arguments for `countersign api` (host, port, database url, json, log level). */
  apiArgs: string[];
  executorArgs: string[];
  log: (line: string) => void;
}

/** What the API child sends its supervisor once it listens (over the IPC channel `serve` opens). */
const READY_MESSAGE = 'countersign:api-listening';

/**
 * Tells a supervising `serve` that the API is listening, then closes the channel (an open one
 * would keep this process alive after it drains). A no-op when not started by `serve`.
 */
export function notifySupervisorListening(): void {
  if (!process.send || process.env[SUPERVISOR_ENV] === undefined) return;
  process.send(READY_MESSAGE, () => process.disconnect());
}

/** Resolves true when `api` reports it listens, false when it exits first. */
function apiListening(api: ChildProcess): Promise<boolean> {
  return new Promise((resolve) => {
    api.on('message', (m) => {
      if (m === READY_MESSAGE) resolve(true);
    });
    api.once('exit', () => resolve(false));
  });
}

/**
 * `countersign serve`: two processes from one command. The API child gets an environment
 * without tool credentials; the executor child, the only one that runs tools, gets them. The
 * executor starts only once the API listens, so an API that cannot start (its port taken, its
 * config invalid) leaves nothing running. If either dies the other is stopped and serve exits
 * non-zero; SIGTERM drains both.
 */
export async function superviseApiAndExecutor(options: SupervisorOptions): Promise<number> {
  const cli = process.argv[1] ?? '';
  const base = [...process.execArgv, cli];
  const api = spawn(process.execPath, [...base, 'api', '--dir', options.dir, ...options.apiArgs], {
    env: { ...apiEnvironment(options.dir, process.env), [SUPERVISOR_ENV]: String(process.pid) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const apiExit = new Promise<number>((resolve) => api.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  let stopping = false;
  const children: [string, ChildProcess][] = [['api', api]];
  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const [, c] of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  };
  process.on('SIGTERM', () => stopAll('SIGTERM'));
  process.on('SIGINT', () => stopAll('SIGTERM'));
  // SIGHUP reloads: policies and tools in the API, tools in the executor.
  process.on('SIGHUP', () => {
    for (const [, c] of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGHUP');
  });
  if (!(await apiListening(api)) || stopping) {
    const code = await apiExit;
    if (!stopping) options.log(`the API did not start (exit ${code}), so no executor was started`);
    // The API's own exit code says why (3: port in use or bad config), for scripts.
    return code === 0 ? 1 : code;
  }
  const executor = spawn(process.execPath, [...base, 'executor', '--dir', options.dir, ...options.executorArgs], {
    env: { ...process.env, [SUPERVISOR_ENV]: String(process.pid) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(['executor', executor]);
  return new Promise((resolve) => {
    let remaining = children.length;
    let worst = 0;
    for (const [name, c] of children) {
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        if (!stopping) {
          options.log(`${name} process exited (${signal ?? code}); stopping the other`);
          // serve exits with the child's own code (3 for invalid config or policies), never 0.
          worst = Math.max(worst, code || 1);
          stopAll('SIGTERM');
        } else if (code !== 0) {
          worst = Math.max(worst, code ?? 1);
        }
        if (--remaining === 0) resolve(worst);
      };
      // The API may already have exited between its ready message and this line.
      if (c.exitCode !== null || c.signalCode !== null) onExit(c.exitCode, c.signalCode);
      else c.once('exit', onExit);
    }
  });
}

export const SUPERVISOR_ENV = 'COUNTERSIGN_SUPERVISOR_PID';

/**
 * A child started by `serve` stops itself when `serve` disappears (even by SIGKILL): it checks
 * once a second that its parent is still the supervisor that started it, so no orphaned API or
 * executor keeps running unsupervised.
 */
export function watchSupervisor(onLost: () => void, env: NodeJS.ProcessEnv = process.env): NodeJS.Timeout | null {
  const expected = Number(env[SUPERVISOR_ENV]);
  if (!Number.isInteger(expected) || expected <= 0) return null;
  const timer = setInterval(() => {
    if (process.ppid !== expected) {
      clearInterval(timer);
      onLost();
    }
  }, 1000);
  timer.unref();
  return timer;
}
