import { type ChildProcess, spawn } from 'node:child_process';
import { CLI_ARGS } from './cli.ts';

export interface ApiProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | string>;
  /** SIGTERM and the exit (the drain ends with 0). */
  stop(): Promise<number | string>;
}

/** `countersign api` (one API replica, no executor) as its own process on a free loopback port. */
export async function startApiProcess(dir: string, databaseUrl: string): Promise<ApiProcess> {
  const child = spawn(process.execPath, [...CLI_ARGS, 'api', '--dir', dir, '--database-url', databaseUrl, '--port', '0', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = /"url":\s*"([^"]+)"/.exec(out);
      if (m?.[1]) resolve(m[1]);
    };
    child.stdout?.on('data', check);
    void exited.then((code) => reject(new Error(`api exited early with ${code}:\n${out}`)));
  });
  return {
    url,
    child,
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
