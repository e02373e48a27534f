import { ERROR_CODES, type ErrorCode } from './codes.ts';

export { ERROR_CODES, type ErrorCode };

/** The one error class of Countersign: a stable `code`, a message safe to show the caller. */
export class CountersignError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra structured facts safe to return to the caller (for example the field path). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CountersignError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = options?.details;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }
}

export function isCountersignError(err: unknown): err is CountersignError {
  return err instanceof CountersignError;
}
