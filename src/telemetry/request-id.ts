import { randomUUID } from 'node:crypto';

/**
 * A caller's `X-Request-Id` is adopted only when it is short and made of characters that cannot
 * break a log line, a header or a JSON viewer (no CR/LF, no quotes, no spaces): letters, digits
 * and `-_.:` up to 128 characters. Anything else — an injected newline, a megabyte, a second
 * header — gets a fresh id, so a log line can always be trusted to be one request's.
 */
const SAFE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function acceptRequestId(header: string | string[] | undefined, fresh: () => string = randomUUID): string {
  return typeof header === 'string' && SAFE_REQUEST_ID.test(header) ? header : fresh();
}

export function isSafeRequestId(value: string): boolean {
  return SAFE_REQUEST_ID.test(value);
}
