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

/**
 * `countersign serve`: two processes from one command. The API child gets an environment
 * without tool credentials; the executor child, the only one that runs tools, gets them. If
 * either dies the other is stopped and serve exits non-zero; SIGTERM drains both.
 */
export function superviseApiAndExecutor(options: SupervisorOptions): Promise<number> {
  const cli = process.argv[1] ?? '';
  const base = [...process.execArgv, cli];
  const api = spawn(process.execPath, [...base, 'api', '--dir', options.dir, ...options.apiArgs], {
    env: { ...apiEnvironment(options.dir, process.env), [SUPERVISOR_ENV]: String(process.pid) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const executor = spawn(process.execPath, [...base, 'executor', '--dir', options.dir, ...options.executorArgs], {
    env: { ...process.env, [SUPERVISOR_ENV]: String(process.pid) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const children: [string, ChildProcess][] = [
    ['api', api],
    ['executor', executor],
  ];
  let stopping = false;
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
  return new Promise((resolve) => {
    let remaining = children.length;
    let worst = 0;
    for (const [name, c] of children) {
      c.on('exit', (code, signal) => {
        if (!stopping) {
          options.log(`${name} process exited (${signal ?? code}); stopping the other`);
          // serve exits with the child's own code (3 for invalid config or policies), never 0.
          worst = Math.max(worst, code || 1);
          stopAll('SIGTERM');
        } else if (code !== 0) {
          worst = Math.max(worst, code ?? 1);
        }
        if (--remaining === 0) resolve(worst);
      });
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
