import { type ChildProcess, spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { type PythonOutcome, WorkerResponseSchema } from './protocol.ts';
import { PYTHON_WORKER_SOURCE } from './worker-source.ts';

export interface PythonWorkerOptions {
  /** The interpreter to run; resolved on PATH. */
  executable?: string;
  /** Per request, from when it is written to the worker; on expiry the worker is killed (fail closed). */
  timeoutMs?: number;
}

interface Job {
  id: number;
  source: string;
  resolve: (outcome: PythonOutcome) => void;
  /** Times written to a worker; a job whose worker died is retried once on a fresh one. */
  attempts: number;
}

const MAX_SOURCE_CHARS = 4 * 1024 * 1024;
/** A response larger than this is not one we asked for: the worker caps its own output far below it. */
const MAX_RESPONSE_CHARS = 32 * 1024 * 1024;

/**
 * One long-lived `python3` process parsing scripts with `ast`, one request at a time (Python is
 * single-threaded, and serial requests mean a timeout kills only the request that caused it).
 * Spawned on first use, respawned after it dies. While idle its handles are unref'd, so an idle
 * worker never keeps a server or a test process alive; `close()` stops it.
 */
export class PythonWorker {
  readonly #executable: string;
  readonly #timeoutMs: number;
  readonly #queue: Job[] = [];
  #child: ChildProcess | undefined;
  #current: Job | undefined;
  #timer: NodeJS.Timeout | undefined;
  #buffer = '';
  #nextId = 1;

  constructor(options: PythonWorkerOptions = {}) {
    this.#executable = options.executable ?? 'python3';
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  /** The worker's process id, if one is running (for diagnostics and the restart test). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  analyze(source: string): Promise<PythonOutcome> {
    // The analyser bounds scripts far below this; the worker still refuses to be fed without limit.
    if (source.length > MAX_SOURCE_CHARS) return Promise.resolve(failure('internal', 'the source exceeds what the worker accepts'));
    return new Promise((resolve) => {
      this.#queue.push({ id: this.#nextId++, source, resolve, attempts: 0 });
      this.#pump();
    });
  }

  /** Stop the worker; requests still queued or running end as `unavailable`. */
  async close(): Promise<void> {
    const child = this.#child;
    for (const job of this.#queue.splice(0)) job.resolve(failure('unavailable', 'the analyser was closed'));
    this.#finish(failure('unavailable', 'the analyser was closed'));
    if (!child) return;
    this.#child = undefined;
    // No pid: the spawn itself failed and no exit will come.
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    // An idle worker is unref'd; without a ref its exit event may never be delivered before the loop ends.
    refHandles(child, true);
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.once('error', () => done());
      child.kill('SIGKILL');
    });
  }

  #pump(): void {
    if (this.#current) return;
    const job = this.#queue.shift();
    if (!job) {
      this.#setRef(false);
      return;
    }
    const child = this.#child ?? this.#spawn();
    if (!child) {
      job.resolve(failure('unavailable', `could not start ${this.#executable}`));
      this.#pump();
      return;
    }
    this.#current = job;
    job.attempts++;
    this.#setRef(true);
    this.#timer = setTimeout(() => this.#kill(child, failure('timeout', `no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    child.stdin?.write(`${JSON.stringify({ id: job.id, source: job.source })}\n`);
  }

  #spawn(): ChildProcess | undefined {
    let child: ChildProcess;
    try {
      child = spawn(this.#executable, ['-I', '-S', '-c', PYTHON_WORKER_SOURCE], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8' },
      });
    } catch {
      return undefined;
    }
    this.#child = child;
    this.#buffer = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.#onData(child, chunk));
    // Diagnostics are not part of the protocol; drain them so a chatty interpreter cannot block.
    child.stderr?.resume();
    // A write after the worker died raises EPIPE here; the exit handler settles the request.
    child.stdin?.on('error', () => {});
    child.on('error', (err) => this.#onExit(child, `${this.#executable} failed: ${err.message}`));
    child.on('exit', (code, signal) => this.#onExit(child, `the worker exited (${signal ?? code})`));
    return child;
  }

  #onData(child: ChildProcess, chunk: string): void {
    if (child !== this.#child) return;
    this.#buffer += chunk;
    if (this.#buffer.length > MAX_RESPONSE_CHARS) {
      this.#kill(child, failure('internal', 'the worker sent an oversized response'));
      return;
    }
    let nl = this.#buffer.indexOf('\n');
    while (nl >= 0 && this.#child === child) {
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      this.#onLine(child, line);
      nl = this.#buffer.indexOf('\n');
    }
  }

  #onLine(child: ChildProcess, line: string): void {
    const job = this.#current;
    let parsed: ReturnType<typeof WorkerResponseSchema.safeParse>;
    try {
      parsed = WorkerResponseSchema.safeParse(JSON.parse(line));
    } catch {
      this.#kill(child, failure('internal', 'the worker sent invalid JSON'));
      return;
    }
    if (!job || !parsed.success || parsed.data.id !== job.id) {
      this.#kill(child, failure('internal', 'the worker answered out of protocol'));
      return;
    }
    const r = parsed.data;
    this.#finish(
      r.ok
        ? { ok: true, events: r.events, stars: r.stars, truncated: r.truncated }
        : { ok: false, error: r.error, line: r.line, message: r.message },
    );
    this.#pump();
  }

  #onExit(child: ChildProcess, reason: string): void {
    if (child !== this.#child) return;
    this.#child = undefined;
    const job = this.#current;
    // The worker may have died of something else (killed while idle, out of memory once): one retry on a
    // fresh worker. A script that kills the worker twice is denied.
    if (job && job.attempts < 2) {
      clearTimeout(this.#timer);
      this.#current = undefined;
      this.#queue.unshift(job);
    } else {
      this.#finish(failure('unavailable', reason));
    }
    this.#pump();
  }

  /** Kill a misbehaving worker and settle its request; the next request gets a fresh one. */
  #kill(child: ChildProcess, outcome: PythonOutcome): void {
    if (child === this.#child) this.#child = undefined;
    child.kill('SIGKILL');
    this.#finish(outcome);
    this.#pump();
  }

  #finish(outcome: PythonOutcome): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const job = this.#current;
    this.#current = undefined;
    job?.resolve(outcome);
  }

  #setRef(busy: boolean): void {
    if (this.#child) refHandles(this.#child, busy);
  }
}

/** A busy worker keeps the process alive until it answers; an idle one must not. */
function refHandles(child: ChildProcess, busy: boolean): void {
  if (busy) child.ref();
  else child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) {
    if (s instanceof Socket) {
      if (busy) s.ref();
      else s.unref();
    }
  }
}

function failure(error: 'internal' | 'unavailable' | 'timeout', message: string): PythonOutcome {
  return { ok: false, error, line: 1, message };
}
