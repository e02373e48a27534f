import { CountersignError, ERROR_CODES, type ErrorCode } from '../errors/index.ts';
import type { PlanView } from '../plans/view.ts';

export interface ClientOptions {
  /** Base URL, e.g. http://127.0.0.1:7400 */
  server: string;
  token?: string;
  /** Per-request timeout in milliseconds. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface AuditEntry {
  seq: number;
  ts: string;
  code: string;
  actor: string;
  action: string;
  outcome: string;
  resource: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface ProposePlanInput {
  intent: string;
  environment: string;
  steps: { tool: string; action: string; input?: Record<string, unknown> }[];
  rollback?: { tool: string; action: string; input?: Record<string, unknown> }[];
  source?: 'api' | 'cli' | 'planner';
}

/** A small typed client for the REST API; the CLI uses it for every remote command. */
export class CountersignClient {
  readonly #server: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions) {
    this.#server = options.server.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#fetch = options.fetch ?? fetch;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.#fetch(`${this.#server}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new CountersignError(
        'SERVER_UNREACHABLE',
        `cannot reach ${this.#server}: ${(err as Error).message}. Is \`countersign serve\` running? Set --server or COUNTERSIGN_SERVER.`,
        {
          cause: err,
        },
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
      const code = (e?.code && e.code in ERROR_CODES ? e.code : res.status >= 500 ? 'INTERNAL' : 'BAD_REQUEST') as ErrorCode;
      throw new CountersignError(code, e?.message ?? `HTTP ${res.status}`, { details: e?.details });
    }
    return parsed as T;
  }

  health(): Promise<{ status: string; version: string }> {
    return this.request('GET', '/healthz');
  }

  proposePlan(input: ProposePlanInput): Promise<PlanView> {
    return this.request('POST', '/v1/plans', input);
  }

  getPlan(id: string): Promise<PlanView> {
    return this.request('GET', `/v1/plans/${encodeURIComponent(id)}`);
  }

  listPlans(query: { limit?: number; cursor?: string; status?: string; environment?: string } = {}): Promise<{
    plans: PlanView[];
    nextCursor: string | null;
  }> {
    return this.request('GET', `/v1/plans${queryString(query)}`);
  }

  listAudit(query: { after?: number; limit?: number } = {}): Promise<{ entries: AuditEntry[]; next: number | null }> {
    return this.request('GET', `/v1/audit${queryString(query)}`);
  }
}

function queryString(q: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export type { PlanView };
