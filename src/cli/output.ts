import { stripVTControlCharacters } from 'node:util';
import { CountersignError, ERROR_CODES } from '../errors/index.ts';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  isTty: boolean;
  /** Whether each stream takes ANSI colour (absent: never). Decided once by `colorFor`. */
  color?: { out: boolean; err: boolean };
  /** Redraws one line of progress on standard error (null clears it); absent unless it is a terminal. */
  progress?: (line: string | null) => void;
}

/**
 * Colour on a terminal unless NO_COLOR is set (no-color.org), and wherever FORCE_COLOR asks for it
 * (FORCE_COLOR=0 turns it off); never into a pipe or file, where the codes would be noise.
 */
export function colorFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !['0', 'false'].includes(force.toLowerCase());
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  isTty: Boolean(process.stdout.isTTY),
  color: { out: colorFor(process.stdout), err: colorFor(process.stderr) },
  ...(process.stderr.isTTY ? { progress: (line: string | null) => process.stderr.write(`\r${line ?? ''}\u001b[K`) } : {}),
};

/**
 * A line of progress for long work, on a terminal only: first drawn after a second (short work
 * shows nothing), redrawn at most four times a second, cleared by done().
 */
export function progressLine(
  io: Io,
  describe: (n: number) => string,
  now: () => number = Date.now,
): { update(n: number): void; done(): void } {
  const draw = io.progress;
  if (!draw) return { update: () => {}, done: () => {} };
  const start = now();
  let last = 0;
  let shown = false;
  return {
    update(n) {
      const t = now();
      if (t - start < 1_000 || t - last < 250) return;
      last = t;
      shown = true;
      draw(describe(n));
    },
    done() {
      if (shown) draw(null);
    },
  };
}

const SGR = { red: 31, green: 32, yellow: 33, bold: 1, dim: 2 } as const;
export type Style = keyof typeof SGR;

/** `text` in a style when the stream takes colour, else unchanged. */
export function paint(io: Io, stream: 'out' | 'err', style: Style, text: string): string {
  return io.color?.[stream] ? `\u001b[${SGR[style]}m${text}\u001b[0m` : text;
}

/** A verdict word (OK, FAILED, PASS, FAIL…) in green or red. */
export function verdict(io: Io, ok: boolean, word: string): string {
  return paint(io, 'out', ok ? 'green' : 'red', word);
}

/**
 * The reader of standard output went away (`countersign … | head`): stop at once and quietly, as
 * Unix tools do when SIGPIPE ends them (status 141, what a shell reports for them). Node ignores
 * SIGPIPE, so without this the write fails with an unhandled EPIPE error and a stack trace.
 */
export function exitQuietlyWhenReaderCloses(): void {
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_READER_CLOSED);
    throw err;
  };
  process.stdout.on('error', onError);
  process.stderr.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

export const EXIT_READER_CLOSED = 141;

/** Prints either the JSON value (for scripts) or the human text. */
export function emit(io: Io, json: boolean, value: unknown, human: () => string): void {
  io.out(json ? JSON.stringify(value, null, 2) : human());
}

/** What to try next, per error code, so a message never leaves the user stuck. */
const HINTS: Partial<Record<keyof typeof ERROR_CODES, string>> = {
  UNAUTHENTICATED: 'Set COUNTERSIGN_TOKEN (or --token) to an API key; `countersign init` prints the admin key once.',
  NOT_INITIALIZED: 'Run `countersign init` (or `npm start`, which initializes on first run).',
  SERVER_UNREACHABLE: 'Start the server with `countersign serve`, or point --server / COUNTERSIGN_SERVER at it.',
  POLICY_DENIED: 'Your principal is not permitted this action; ask an admin or see `countersign policy` docs.',
  ALREADY_INITIALIZED: 'Use a different --dir, or start the existing one with `countersign serve`.',
  PORT_IN_USE: 'Stop what holds the port, or choose another: --port <n> (or --host), or server.port in countersign.yaml.',
  AUDIT_CHAIN_BROKEN: 'Treat the log as tampered from the named sequence number; restore from a verified export.',
};

/** Exit codes, documented in `countersign --help`. */
export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  failure (e.g. audit verification found tampering)
  2  invalid input or usage
  3  configuration or data-directory problem
  4  not authenticated
  5  denied by policy
  6  not found
  7  conflict (state changed, hash mismatch)
  8  rate limited
  9  server or database unavailable
  10 internal error
  11 execution needs attention (execute --wait, logs --follow)
  141 the reader of standard output closed it (e.g. \`| head\`), as for other Unix tools
`;

export function reportError(io: Io, json: boolean, err: unknown): number {
  if (err instanceof CountersignError) {
    if (json) io.err(JSON.stringify({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } }));
    else {
      io.err(`${paint(io, 'err', 'red', 'error:')} ${err.message} [${err.code}]`);
      const hint = HINTS[err.code];
      if (hint) io.err(`${paint(io, 'err', 'yellow', 'hint:')} ${hint}`);
    }
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.err(json ? JSON.stringify({ error: { code: 'INTERNAL', message } }) : `${paint(io, 'err', 'red', 'error:')} ${message}`);
  return ERROR_CODES.INTERNAL.exit;
}

/** Length as shown: colour codes take no columns. */
const shownLength = (s: string): number => stripVTControlCharacters(s).length;

/** Left-aligned columns for human tables (cells may be painted). */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => shownLength(r[i] ?? ''))));
  const pad = (c: string, w: number) => c + ' '.repeat(Math.max(0, w - shownLength(c)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i] ?? 0))).join('  ')).join('\n');
}
