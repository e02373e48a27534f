// Parent side of the HTTP figures: a hosted server in a child process (http-host.ts) and bounded
// autocannon load against it on loopback.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { progress } from '../lib.ts';
import type { HostCommand, HostReply } from './http-host.ts';

const HOST_SCRIPT = fileURLToPath(new URL('./http-host.ts', import.meta.url));

/** A server in its own process; every call waits for the child's answer. */
export class HostedServer {
  readonly #child: ChildProcess;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  static async start(command: Extract<HostCommand, { type: 'start' }>): Promise<{ host: HostedServer; url: string; adminKey?: string }> {
    const child = fork(HOST_SCRIPT, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    // A send to a child that already exited reports here; the pending call fails through its 'exit' listener.
    child.on('error', (err) => progress(`bench host: ${err.message}`));
    const host = new HostedServer(child);
    try {
      const ready = await host.call(command, 'ready');
      return { host, url: ready.url, adminKey: ready.adminKey };
    } catch (err) {
      host.kill();
      throw err;
    }
  }

  /** Sends one command and resolves with the reply of the expected type; calls are serialized. */
  call<T extends HostReply['type']>(command: HostCommand, expect: T, timeoutMs = 120_000): Promise<Extract<HostReply, { type: T }>> {
    const next = this.#queue.then(
      () =>
        new Promise<Extract<HostReply, { type: T }>>((resolve, reject) => {
          const child = this.#child;
          const timer = setTimeout(() => done(new Error(`bench host did not answer ${command.type} within ${timeoutMs} ms`)), timeoutMs);
          const onMessage = (reply: HostReply) => {
            if (reply.type === 'error') done(new Error(`bench host failed on ${command.type}: ${reply.message}`));
            else if (reply.type === expect) done(null, reply as Extract<HostReply, { type: T }>);
            else done(new Error(`bench host answered ${reply.type} to ${command.type}`));
          };
          const onExit = (code: number | null) => done(new Error(`bench host exited (code ${code}) during ${command.type}`));
          const done = (err: Error | null, reply?: Extract<HostReply, { type: T }>) => {
            clearTimeout(timer);
            child.off('message', onMessage);
            child.off('exit', onExit);
            if (err) reject(err);
            else resolve(reply!);
          };
          child.on('message', onMessage);
          child.once('exit', onExit);
          child.send(command);
        }),
    );
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Closes the server and waits for the process to end (killing it if it does not). */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    try {
      await this.call({ type: 'stop' }, 'stopped', 30_000);
      this.#child.disconnect();
    } catch {
      this.kill();
    }
    await exited;
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}

export interface LoadOptions {
  url: string;
  /** Seconds of load; a warm-up of `warmupSeconds` runs first and is not counted. */
  seconds: number;
  warmupSeconds: number;
  connections: number;
  method: 'POST' | 'GET';
  headers: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  /** 2xx answers per second over the measured run. */
  perSecond: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** Milliseconds; autocannon records whole milliseconds, so the mean carries the sub-ms detail. */
  latencyP50: number;
  latencyP99: number;
  latencyMean: number;
  seconds: number;
  /** All 2xx answers including the warm-up: what the server should have stored. */
  okIncludingWarmup: number;
  non2xxIncludingWarmup: number;
}

async function fire(options: LoadOptions, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: options.url,
    connections: options.connections,
    duration: seconds,
    timeout: 10,
    method: options.method,
    headers: options.headers,
    body: options.body,
  });
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  const warm = await fire(options, options.warmupSeconds);
  const r = await fire(options, options.seconds);
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats)) statusCodes[code] = s.count;
  return {
    perSecond: r['2xx'] / r.duration,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
    latencyP50: r.latency.p50,
    latencyP99: r.latency.p99,
    latencyMean: r.latency.mean,
    seconds: r.duration,
    okIncludingWarmup: r['2xx'] + warm['2xx'],
    non2xxIncludingWarmup: r.non2xx + warm.non2xx,
  };
}
