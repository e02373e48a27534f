import { CountersignError, ERROR_CODES } from '../errors/index.ts';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  isTty: boolean;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  isTty: Boolean(process.stdout.isTTY),
};

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
`;

export function reportError(io: Io, json: boolean, err: unknown): number {
  if (err instanceof CountersignError) {
    if (json) io.err(JSON.stringify({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } }));
    else {
      io.err(`error: ${err.message} [${err.code}]`);
      const hint = HINTS[err.code];
      if (hint) io.err(`hint: ${hint}`);
    }
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.err(json ? JSON.stringify({ error: { code: 'INTERNAL', message } }) : `error: ${message}`);
  return ERROR_CODES.INTERNAL.exit;
}

/** Left-aligned columns for human tables. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}
