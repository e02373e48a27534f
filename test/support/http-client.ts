import type { TestServer } from './server.ts';

export type Requester = Pick<TestServer, 'request'>;

/**
 * The `request` of a TestServer for a server in another process (`serve`, `api`): the helpers of
 * test/support/execution.ts take it unchanged.
 */
export function httpClient(url: string, adminKey: string): Requester {
  return {
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...(options.headers ?? {}) };
      const key = options.key === undefined ? adminKey : options.key;
      if (key) headers.authorization = `Bearer ${key}`;
      let body: string | undefined = options.raw;
      if (options.body !== undefined) body = JSON.stringify(options.body);
      if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
      const res = await fetch(`${url}${path}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // keep the text
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
  };
}
