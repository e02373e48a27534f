// Shared by every bench module: the Row a figure reports, timing, percentiles, and the table.
// A figure is only meaningful beside its floor measured in the same run on the same machine,
// so every Row carries both (DESIGN.md "Performance targets").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A target from DESIGN.md: on the figure itself, or on its overhead over the floor. */
export interface Target {
  op: '>=' | '<=';
  value: number;
  /**
   * `value` (default) compares the figure; `overhead` compares figure − floor (e.g. "≤ 5 ms over a
   * bare spawn"); `ratio` compares figure ÷ floor (e.g. "≥ 50% of a bare insert": 0.5).
   */
  on?: 'value' | 'overhead' | 'ratio';
  /** As written in DESIGN.md, e.g. `≥ 20k/s`. */
  text: string;
}

export type Kind = 'rate' | 'latency';

/** One line of the report. `value` null means the figure could not be taken (see status). */
export interface Row {
  /** Stable key for --json consumers, e.g. `audit.append.txn_each`. */
  id: string;
  figure: string;
  kind: Kind;
  /** Entries/s, requests/s… for a rate; milliseconds for a latency. */
  value: number | null;
  floor?: { label: string; value: number };
  target?: Target;
  /** Only set when the figure is not a plain measurement: skipped, or a correctness check failed. */
  status?: 'SKIP' | 'ERROR';
  notes?: string[];
  /** Extra machine-readable facts: counts, durations, status codes. */
  detail?: Record<string, number | string | boolean>;
}

export type Verdict = 'PASS' | 'MISS' | '-' | 'SKIP' | 'ERROR';

/** A figure: a name for `npm run bench -- NAME`, and how to load it (lazily, so a subset loads only what it runs). */
export interface BenchModule {
  name: string;
  about: string;
  load: () => Promise<{ run: () => Promise<Row[]> }>;
}

// ---- timing ----

/** Monotonic time in milliseconds with sub-microsecond resolution. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * Runs `fn` in sequence until `budgetMs` has passed or `maxCount` calls were made, whichever is
 * first: bounds a figure whose speed is unknown in advance (e.g. one fsync per call).
 */
export async function rateWithin(
  budgetMs: number,
  maxCount: number,
  fn: (i: number) => unknown,
): Promise<{ perSecond: number; ms: number; count: number }> {
  const start = nowMs();
  let count = 0;
  let ms = 0;
  while (count < maxCount && ms < budgetMs) {
    await fn(count);
    count++;
    ms = nowMs() - start;
  }
  return { perSecond: (count * 1000) / ms, ms, count };
}

/** Same as rateOf for synchronous work: no await per iteration, so the loop measures only `fn`. */
export function rateOfSync(count: number, fn: (i: number) => unknown): { perSecond: number; ms: number } {
  const start = nowMs();
  for (let i = 0; i < count; i++) fn(i);
  const ms = nowMs() - start;
  return { perSecond: (count * 1000) / ms, ms };
}

/** Times each of `count` synchronous calls (after `warmup` untimed ones); durations in ms. */
export function sampleSync(count: number, warmup: number, fn: () => unknown): Float64Array {
  for (let i = 0; i < warmup; i++) fn();
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    fn();
    out[i] = Number(process.hrtime.bigint() - t) / 1e6;
  }
  return out;
}

/**
 * Times `fns` against each other in alternating blocks of `block` calls, so a GC pause or a
 * noisy neighbour lands on the figure and its floor alike. Returns one sample array per fn.
 */
export function sampleAlternating(count: number, warmup: number, fns: readonly (() => unknown)[], block = 500): Float64Array[] {
  for (const fn of fns) for (let i = 0; i < warmup; i++) fn();
  const out = fns.map(() => new Float64Array(count));
  for (let start = 0; start < count; start += block) {
    const end = Math.min(count, start + block);
    fns.forEach((fn, k) => {
      const samples = out[k]!;
      for (let i = start; i < end; i++) {
        const t = process.hrtime.bigint();
        fn();
        samples[i] = Number(process.hrtime.bigint() - t) / 1e6;
      }
    });
  }
  return out;
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles. */
export function percentiles(samples: Float64Array): Percentiles {
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { p50: at(50), p99: at(99), max: sorted[sorted.length - 1] ?? Number.NaN, mean: sum / sorted.length };
}

/** Median of a few repeated measurements: one noisy run on shared cores does not decide a figure. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? Number.NaN) + (s[mid] ?? Number.NaN)) / 2;
}

/** Runs an async measurement `times` times and keeps the median of `pick`. */
export async function medianOf<T>(times: number, measure: () => Promise<T>, pick: (t: T) => number): Promise<T> {
  const results: T[] = [];
  for (let i = 0; i < times; i++) results.push(await measure());
  const m = median(results.map(pick));
  return results.reduce((best, r) => (Math.abs(pick(r) - m) < Math.abs(pick(best) - m) ? r : best));
}

// ---- cleanup, also on Ctrl-C ----

/** Cleanups still owed (temp dirs, databases): run by their owner's finally, or on SIGINT/SIGTERM. */
class Cleanups {
  readonly #pending = new Set<() => void | Promise<void>>();
  #installed = false;

  add(fn: () => void | Promise<void>): () => Promise<void> {
    this.#install();
    this.#pending.add(fn);
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      this.#pending.delete(fn);
      await fn();
    };
  }

  #install(): void {
    if (this.#installed) return;
    this.#installed = true;
    const onSignal = (signal: NodeJS.Signals) => {
      progress(`${signal}: cleaning up ${this.#pending.size} temporary resource(s)`);
      void Promise.allSettled([...this.#pending].map(async (fn) => fn())).then(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
}

const cleanups = new Cleanups();

/** Registers `fn` to run on interrupt; the returned function runs it now (once) and unregisters it. */
export function owe(fn: () => void | Promise<void>): () => Promise<void> {
  return cleanups.add(fn);
}

/** A fresh directory under the system temp dir, removed by the returned function (call it in finally). */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `cs-bench-${prefix}-`));
  const settle = owe(() => rmSync(path, { recursive: true, force: true }));
  // The removal itself runs synchronously inside settle(), before its promise resolves.
  return { path, remove: () => void settle() };
}

// ---- verdicts and formatting ----

export function verdict(row: Row): Verdict {
  if (row.status) return row.status;
  if (!row.target || row.value === null) return '-';
  const t = row.target;
  let measured = row.value;
  if (t.on === 'overhead' || t.on === 'ratio') {
    if (!row.floor || !(row.floor.value > 0)) return 'ERROR';
    measured = t.on === 'overhead' ? row.value - row.floor.value : row.value / row.floor.value;
  }
  const ok = t.op === '>=' ? measured >= t.value : measured <= t.value;
  return ok ? 'PASS' : 'MISS';
}

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatValue(kind: Kind, value: number | null): string {
  if (value === null || !Number.isFinite(value)) return 'n/a';
  if (kind === 'rate') return `${int.format(value)}/s`;
  if (value < 1) return `${value.toFixed(3)} ms`;
  if (value < 100) return `${value.toFixed(2)} ms`;
  return `${int.format(value)} ms`;
}

/** The figure against its floor: share of the floor's rate, or the time added over the floor. */
export function formatVsFloor(row: Row): string {
  if (!row.floor || row.value === null) return '';
  if (row.kind === 'rate') {
    const pct = (100 * row.value) / row.floor.value;
    return `${pct >= 10 ? pct.toFixed(0) : pct.toFixed(1)}% of floor`;
  }
  const over = row.value - row.floor.value;
  return `${over < 0 ? '-' : '+'}${formatValue('latency', Math.abs(over))} over floor`;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - text.length));
}

/** The human report: one line per row, the figure beside its floor and target, notes underneath. */
export function renderTable(rows: readonly Row[]): string {
  const cells = rows.map((r) => [
    r.figure,
    r.status === 'SKIP' ? 'skipped' : formatValue(r.kind, r.value),
    r.floor ? `${r.floor.label}  ${formatValue(r.kind, r.floor.value)}` : '',
    formatVsFloor(r),
    r.target ? `target ${r.target.text}` : '',
    verdict(r),
  ]);
  const header = ['figure', 'measured', 'floor, same run', 'vs floor', 'target', 'result'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]) =>
    c
      .map((text, i) => pad(text, widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const c of cells) out.push(line(c));
  const notes = rows.flatMap((r) => (r.notes ?? []).map((n) => `  ${r.figure}: ${n}`));
  if (notes.length > 0) out.push('', 'notes:', ...notes);
  return out.join('\n');
}

/** Progress for humans goes to stderr so stdout stays the table (or the JSON). */
export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}
