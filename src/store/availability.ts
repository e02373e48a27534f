/**
 * Errors that mean the database is away for now — a restart, a failover, a dropped connection —
 * rather than that the request was wrong. Callers retry these with backoff (the executor, the
 * event streams) or answer 503 STORE_UNAVAILABLE (the API); they are never a reason to exit.
 */

/** SQLSTATE classes: 08 connection exception; 57P01–57P03 shutdown / cannot connect now; 53300 too many connections. */
const TRANSIENT_SQLSTATE = /^(08...|57P0[1-3]|53300)$/;
const TRANSIENT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** What `pg` says when a socket closes under it (these carry no code). */
const TRANSIENT_MESSAGE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|Query read timeout/i;

export function isStoreUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_ERRNO.has(code) || code === 'STORE_UNAVAILABLE'))
      return true;
    if (typeof message === 'string' && TRANSIENT_MESSAGE.test(message)) return true;
  }
  return false;
}

/** Exponential backoff with full jitter, capped: the wait before retry number `attempt` (from 1). */
export function backoffMs(attempt: number, baseMs = 100, capMs = 5_000, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(baseMs / 2, Math.floor(random() * ceiling));
}
