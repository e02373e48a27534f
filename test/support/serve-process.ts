import { type ChildProcess, spawn } from 'node:child_process';
import { CLI_ARGS } from './cli.ts';

export interface ServeProcess {
  url: string;
  /** The supervisor's process id (its API and executor are its children). */
  pid: number;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then the exit code (the drain ends with 0). */
  stop(): Promise<number | null>;
}

/** `countersign serve` (API + executor) as its own process on a free loopback port, from the current source. */
export async function startServe(
  dir: string,
  extraArgs: string[] = [],
  env: Record<string, string | undefined> = {},
): Promise<ServeProcess> {
  const child: ChildProcess = spawn(process.execPath, [...CLI_ARGS, 'serve', '--dir', dir, '--port', '0', '--json', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    // Ready when the API listens and the executor has started (a SIGTERM before its handlers are
    // installed would end it by the signal, and serve would then exit 1).
    const check = () => {
      const m = /"url":\s*"([^"]+)"/.exec(out);
      if (m?.[1] && /executor .* started/.test(out)) resolve(m[1]);
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    void exited.then((code) => reject(new Error(`serve exited early with ${code}:\n${out}`)));
  });
  return {
    url,
    pid: child.pid as number,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs `countersign serve` expecting it to refuse to start; returns its exit code and output. */
export async function serveRefusal(dir: string, extraArgs: string[] = []): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [...CLI_ARGS, 'serve', '--dir', dir, '--port', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, output: out };
}
