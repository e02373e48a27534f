// Verification of a long SQLite audit chain on several threads: the chain is cut into segments
// by seq, each read and walked by a reader thread (audit-reader-worker.ts) on its own connection
// with the verifier's own walk, and verifyAuditChain joins what the segments found into one
// verdict. Reading the rows and writing out the hashed text is most of a verification's work.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AuditSegment, SegmentWalk } from '../../audit/index.ts';
import { usableCpus } from '../../cpus.ts';
import type { AuditReaderData, AuditReaderMessage } from './audit-reader-worker.ts';

export interface SegmentOptions {
  /** Reader threads at most (default: the CPUs this process may use, its cgroup quota included, up to 8). */
  threads?: number;
  /** Fewest entries worth a thread of its own: a shorter chain is read on the calling thread (default 100,000). */
  minEntriesPerThread?: number;
  /**
   * The reader thread's module, built (default: beside this module, see startReader). The bench
   * hands it the bundle's so a thread starts as in the installed product, not through tsx.
   */
  readerModule?: URL;
}

/**
 * Cuts a chain whose head is at `headSeq` into segments of about equal length, one per reader
 * thread, or null when the calling thread reads it as fast (a short chain: a thread costs some
 * tens of milliseconds to start; one core).
 */
export function auditSegmentBounds(headSeq: number, options: SegmentOptions = {}): { after: number; until: number | null }[] | null {
  if (!Number.isSafeInteger(headSeq) || headSeq <= 0) return null;
  const most = options.threads ?? Math.min(usableCpus(), 8);
  const threads = Math.min(most, Math.floor(headSeq / (options.minEntriesPerThread ?? 100_000)));
  if (threads < 2) return null;
  const size = Math.ceil(headSeq / threads);
  return Array.from({ length: threads }, (_, i) => ({ after: i * size, until: i === threads - 1 ? null : (i + 1) * size }));
}

/** The segments of a SQLite file's chain, each walked by a reader thread of its own. */
export function auditSegmentsInThreads(
  path: string,
  bounds: readonly { after: number; until: number | null }[],
  pageSize: number,
  readerModule?: URL,
): AuditSegment[] {
  const reader = { path, pageSize, readerModule };
  return bounds.map((b) => ({
    ...b,
    walk: (checkpointHeads, signal, progress) => walkInThread(reader, b, checkpointHeads, signal, progress),
  }));
}

/**
 * Starts a reader thread. Its module is beside this one: the bundle's own entry when bundled, or
 * the TypeScript source when running from source, loaded through tsx's loader, which the thread
 * registers first (a thread does not inherit the loader, and a bundled test process has none).
 */
function startReader(data: AuditReaderData, module: URL | undefined): Worker {
  const options = { workerData: data, stdout: false, stderr: false };
  if (module) return new Worker(module, options);
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./audit-reader-worker.js', import.meta.url), options);
  const source = new URL('./audit-reader-worker.ts', import.meta.url).href;
  const tsx = new URL('dist/esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'))).href;
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/**
 * Reader threads running in this process, at most one per usable CPU (up to 8) whatever the
 * number of verifications at once (console requests, a restore beside a CLI verify): a segment
 * beyond that waits for a thread to finish. `peak` is for tests.
 */
export const readerThreads = { running: 0, peak: 0 };
const waitingForThread: Array<() => void> = [];

/** A thread slot, or false if `signal` aborted first (the walk then reads nothing). */
function threadSlot(signal: AbortSignal): Promise<boolean> {
  const take = () => {
    readerThreads.running++;
    readerThreads.peak = Math.max(readerThreads.peak, readerThreads.running);
  };
  if (readerThreads.running < Math.min(usableCpus(), 8)) {
    take();
    return Promise.resolve(true);
  }
  return new Promise<boolean>((resolve) => {
    const turn = () => {
      signal.removeEventListener('abort', giveUp);
      take();
      resolve(true);
    };
    const giveUp = () => {
      const at = waitingForThread.indexOf(turn);
      if (at >= 0) waitingForThread.splice(at, 1);
      resolve(false);
    };
    if (signal.aborted) return resolve(false);
    waitingForThread.push(turn);
    signal.addEventListener('abort', giveUp, { once: true });
  });
}

function releaseThreadSlot(): void {
  readerThreads.running--;
  waitingForThread.shift()?.();
}

async function walkInThread(
  reader: { path: string; pageSize: number; readerModule: URL | undefined },
  segment: { after: number; until: number | null },
  checkpointHeads: ReadonlyMap<number, string>,
  signal: AbortSignal,
  progress: (entries: number) => void,
): Promise<SegmentWalk> {
  // Stopped before it had a thread (an earlier segment failed): read nothing, as a stopped walk does.
  if (!(await threadSlot(signal))) {
    return { firstSeq: null, firstPrev: null, count: 0, lastSeq: segment.after, lastHash: null, failure: null };
  }
  try {
    return await walkWithThread(reader, segment, checkpointHeads, signal, progress);
  } finally {
    releaseThreadSlot();
  }
}

function walkWithThread(
  reader: { path: string; pageSize: number; readerModule: URL | undefined },
  { after, until }: { after: number; until: number | null },
  checkpointHeads: ReadonlyMap<number, string>,
  signal: AbortSignal,
  progress: (entries: number) => void,
): Promise<SegmentWalk> {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const inSegment = [...checkpointHeads].filter(([seq]) => seq > after && (until === null || seq <= until));
  const worker = startReader(
    { path: reader.path, after, until, pageSize: reader.pageSize, checkpointHeads: inSegment, stop },
    reader.readerModule,
  );
  const onAbort = () => Atomics.store(stop, 0, 1);
  signal.addEventListener('abort', onAbort, { once: true });
  return new Promise<SegmentWalk>((resolve, reject) => {
    worker.on('message', (m: AuditReaderMessage) => {
      if (m.type === 'progress') progress(m.entries);
      else if (m.type === 'walked') resolve(m.walk);
      else reject(new Error(`reading the audit log failed: ${m.message}`));
    });
    worker.on('error', (err) => reject(new Error(`reading the audit log failed: ${err.message}`, { cause: err })));
    // After a verdict this changes nothing (a promise settles once).
    worker.on('exit', (code) => reject(new Error(`an audit reader thread stopped (exit code ${code}) before it walked its segment`)));
  }).finally(() => {
    signal.removeEventListener('abort', onAbort);
    void worker.terminate();
  });
}
