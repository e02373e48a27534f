// The console's one way to talk to its server: same-origin fetch with the session cookie, and
// the session's anti-forgery token on every state change.

export interface ApiError {
  code: string;
  message: string;
  status: number;
}

let csrfToken = '';

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

export class RequestFailed extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

async function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const parsed = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!res.ok) {
    throw new RequestFailed({
      code: parsed?.error?.code ?? 'INTERNAL',
      message: parsed?.error?.message ?? `the server answered ${res.status}`,
      status: res.status,
    });
  }
  return parsed as T;
}

export const api = {
  get: <T>(path: string) => send<T>('GET', path),
  post: <T>(path: string, body: unknown = {}) => send<T>('POST', path, body),
  delete: <T>(path: string) => send<T>('DELETE', path),
};

/** A refusal as a reviewer should read it: what happened and what to do. */
export function explain(err: unknown): string {
  if (!(err instanceof RequestFailed)) return 'The server could not be reached. Check your connection and try again.';
  const { code, message } = err.error;
  if (code === 'PLAN_HASH_MISMATCH')
    return `This plan changed after you opened it, so your review was refused. Reload the page and review the plan as it is now. (${message})`;
  if (code === 'CSRF_REFUSED') return 'Your session’s security token is out of date. Reload the page and try again.';
  if (code === 'UNAUTHENTICATED') return 'Your session has ended. Sign in again.';
  return `${message} (${code})`;
}
