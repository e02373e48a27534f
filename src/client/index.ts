import type { z } from 'zod';
import type { Tally } from '../approvals/index.ts';
import type { AuditEntryView, AuditPage } from '../audit/index.ts';
import { CountersignError, ERROR_CODES, type ErrorCode } from '../errors/index.ts';
import type {
  EventsPage,
  ExecutionEvent,
  ExecutionList,
  ExecutionView,
  FreezeList,
  FreezeState,
  IssuedGrant,
  RevokedGrant,
} from '../executions/index.ts';
import type { HealthSchema } from '../health/index.ts';
import type {
  ReviewBodySchema as ApprovalBodySchema,
  ChatLinkStartResultSchema,
  ChatLinksSchema,
  CreatePrincipalSchema,
  FreezeBodySchema,
  NotificationChannelsSchema,
} from '../operations/index.ts';
import type { DecisionResult, Inbox, PlanPage, PlanView, ProposeBodySchema } from '../plans/index.ts';
import type { Principal } from '../policy/index.ts';
import type { CreatedKey, CreatedPrincipal, KeyList, KeyView, PrincipalList, PrincipalView } from '../principals/index.ts';
import type { ToolCatalog } from '../tools/index.ts';
import { nodeTransport, type Transport, type TransportResponse } from './transport.ts';

// Every type here is the zod schema the server validates or answers with (z.input for what a
// caller sends, z.infer for what it gets back): the client declares none of its own.

export interface ClientOptions {
  /** Base URL, e.g. http://127.0.0.1:7400 */
  server: string;
  token?: string;
  /** Per-request timeout in milliseconds. */
  timeoutMs?: number;
  /** How requests are sent (global `fetch` fits); default: node:http, see transport.ts. */
  fetch?: Transport;
  /**
   * Sent as `x-countersign-client` so the server can record the channel a review came through
   * (e.g. "cli"). A label for the audit trail, not a credential: it grants nothing.
   */
  clientName?: string;
}

export type AuditEntry = AuditEntryView;

/** A plan as a caller proposes it; tenant, proposer and hashes come from the server. */
export type ProposePlanInput = Omit<z.input<typeof ProposeBodySchema>, 'tenant'>;

/** A review: the full hash of the plan as the reviewer saw it (the server refuses any other). */
export type ReviewInput = Omit<z.input<typeof ApprovalBodySchema>, 'decision'>;

export type CreatePrincipalInput = z.input<typeof CreatePrincipalSchema>;

export type FreezeInput = z.input<typeof FreezeBodySchema>;

/** A small typed client for the REST API; the CLI uses it for every remote command. */
export class CountersignClient {
  readonly #server: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #fetch: Transport;
  readonly #clientName: string | undefined;

  constructor(options: ClientOptions) {
    this.#server = options.server.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#fetch = options.fetch ?? nodeTransport;
    this.#clientName = options.clientName;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (this.#clientName) headers['x-countersign-client'] = this.#clientName;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: TransportResponse;
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

  health(): Promise<z.infer<typeof HealthSchema>> {
    return this.request('GET', '/healthz');
  }

  proposePlan(input: ProposePlanInput): Promise<PlanView> {
    return this.request('POST', '/v1/plans', input);
  }

  /** The tenant's environments and the tools the caller may propose with, each action's input schema included. */
  listTools(): Promise<ToolCatalog> {
    return this.request('GET', '/v1/tools');
  }

  getPlan(id: string): Promise<PlanView> {
    return this.request('GET', `/v1/plans/${encodeURIComponent(id)}`);
  }

  listPlans(query: { limit?: number; cursor?: string; status?: string; environment?: string } = {}): Promise<PlanPage> {
    return this.request('GET', `/v1/plans${queryString(query)}`);
  }

  /** Approves a plan at the hash the reviewer saw. Agents and the proposer are always refused. */
  approve(planId: string, review: ReviewInput): Promise<DecisionResult> {
    return this.#review(planId, 'approve', review);
  }

  /** Rejects a plan; one rejection by a required reviewer rejects it. */
  reject(planId: string, review: ReviewInput): Promise<DecisionResult> {
    return this.#review(planId, 'reject', review);
  }

  #review(planId: string, decision: 'approve' | 'reject', review: ReviewInput): Promise<DecisionResult> {
    return this.request('POST', `/v1/plans/${encodeURIComponent(planId)}/approvals`, {
      decision,
      planHash: review.planHash,
      comment: review.comment ?? '',
    });
  }

  cancelPlan(planId: string, reason = ''): Promise<PlanView> {
    return this.request('POST', `/v1/plans/${encodeURIComponent(planId)}/cancel`, { reason });
  }

  /** The caller's review inbox: pending plans they may review and have not voted on yet. */
  inbox(query: { limit?: number } = {}): Promise<Inbox> {
    return this.request('GET', `/v1/approvals${queryString({ status: 'pending', ...query })}`);
  }

  whoami(): Promise<Principal> {
    return this.request('GET', '/v1/whoami');
  }

  /** Creates a principal; the answer carries its first API key, which is never shown again. */
  createPrincipal(input: CreatePrincipalInput): Promise<CreatedPrincipal> {
    return this.request('POST', '/v1/principals', input);
  }

  listPrincipals(): Promise<PrincipalList> {
    return this.request('GET', '/v1/principals');
  }

  disablePrincipal(principalId: string): Promise<PrincipalView> {
    return this.request('POST', `/v1/principals/${encodeURIComponent(principalId)}/disable`);
  }

  enablePrincipal(principalId: string): Promise<PrincipalView> {
    return this.request('POST', `/v1/principals/${encodeURIComponent(principalId)}/enable`);
  }

  /** Creates an API key for a principal; the key is shown once. */
  createKey(principalId: string, input: { description?: string } = {}): Promise<CreatedKey> {
    return this.request('POST', `/v1/principals/${encodeURIComponent(principalId)}/keys`, input);
  }

  listKeys(principalId: string): Promise<KeyList> {
    return this.request('GET', `/v1/principals/${encodeURIComponent(principalId)}/keys`);
  }

  revokeKey(keyId: string): Promise<KeyView> {
    return this.request('POST', `/v1/keys/${encodeURIComponent(keyId)}/revoke`);
  }

  requestGrant(planId: string): Promise<IssuedGrant> {
    return this.request('POST', `/v1/plans/${encodeURIComponent(planId)}/grants`, {});
  }

  /** Runs an approved plan; a repeated call returns the same execution (a plan runs once). */
  execute(planId: string, grant?: string): Promise<ExecutionView> {
    return this.request('POST', `/v1/plans/${encodeURIComponent(planId)}/executions`, grant ? { grant } : {});
  }

  getExecution(id: string): Promise<ExecutionView> {
    return this.request('GET', `/v1/executions/${encodeURIComponent(id)}`);
  }

  listExecutions(limit = 50): Promise<ExecutionList> {
    return this.request('GET', `/v1/executions?limit=${limit}`);
  }

  events(id: string, after = 0): Promise<EventsPage> {
    return this.request('GET', `/v1/executions/${encodeURIComponent(id)}/events?after=${after}`);
  }

  /**
   * Follows an execution's Server-Sent Events until it finishes, resuming with Last-Event-ID
   * when the connection drops. Resolves with the final execution.
   */
  async followEvents(
    id: string,
    onEvent: (e: ExecutionEvent) => void,
    options: { after?: number; signal?: AbortSignal } = {},
  ): Promise<ExecutionView> {
    let last = options.after ?? 0;
    for (let attempt = 0; attempt < 1000; attempt++) {
      const headers: Record<string, string> = { accept: 'text/event-stream', 'last-event-id': String(last) };
      if (this.#token) headers.authorization = `Bearer ${this.#token}`;
      let res: TransportResponse;
      try {
        res = await this.#fetch(`${this.#server}/v1/executions/${encodeURIComponent(id)}/events`, { headers, signal: options.signal });
      } catch (err) {
        if (options.signal?.aborted) throw err;
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (!res.ok || !res.body) {
        await this.request('GET', `/v1/executions/${encodeURIComponent(id)}/events?after=${last}`); // surfaces the error as CountersignError
        throw new CountersignError('INTERNAL', `event stream failed with HTTP ${res.status}`);
      }
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const frame = parseFrame(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (frame) {
            last = frame.seq;
            onEvent(frame);
          }
          cut = buffer.indexOf('\n\n');
        }
      }
      const execution = await this.getExecution(id);
      if (['succeeded', 'failed', 'rolled_back', 'needs_attention'].includes(execution.status)) return execution;
    }
    throw new CountersignError('INTERNAL', 'gave up following the event stream');
  }

  revokeGrant(executionId: string, reason: string): Promise<RevokedGrant> {
    return this.request('POST', `/v1/executions/${encodeURIComponent(executionId)}/revoke-grant`, { reason });
  }

  freeze(input: FreezeInput): Promise<FreezeState> {
    return this.request('POST', '/v1/freeze', input);
  }

  unfreeze(input: { environment?: string }): Promise<FreezeState> {
    return this.request('POST', '/v1/unfreeze', input);
  }

  freezes(): Promise<FreezeList> {
    return this.request('GET', '/v1/freezes');
  }

  listAudit(query: { after?: number; limit?: number } = {}): Promise<AuditPage> {
    return this.request('GET', `/v1/audit${queryString(query)}`);
  }

  // ---- chat and notifications (issue 14) ----
  /** Starts linking a chat account to the caller: a one-time code to send to the bot. */
  startChatLink(): Promise<z.infer<typeof ChatLinkStartResultSchema>> {
    return this.request('POST', '/v1/chat/links', {});
  }

  chatLinks(): Promise<z.infer<typeof ChatLinksSchema>> {
    return this.request('GET', '/v1/chat/links');
  }

  unlinkChat(platform: 'slack' | 'telegram'): Promise<{ unlinked: boolean }> {
    return this.request('DELETE', `/v1/chat/links/${encodeURIComponent(platform)}`);
  }

  notificationChannels(): Promise<z.infer<typeof NotificationChannelsSchema>> {
    return this.request('GET', '/v1/notifications/channels');
  }
}

function queryString(q: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export { nodeTransport, type Transport, type TransportInit, type TransportResponse } from './transport.ts';
export type { DecisionResult, ExecutionEvent, ExecutionView, KeyView, PlanView, Principal, PrincipalView, Tally, ToolCatalog };

function parseFrame(frame: string): ExecutionEvent | null {
  let id: number | null = null;
  let type = 'message';
  let data = '';
  for (const line of frame.split('\n')) {
    if (line.startsWith('id: ')) id = Number(line.slice(4));
    else if (line.startsWith('event: ')) type = line.slice(7);
    else if (line.startsWith('data: ')) data += line.slice(6);
  }
  if (id === null || !Number.isFinite(id)) return null;
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(data) as Record<string, unknown>;
  } catch {
    parsed = { raw: data };
  }
  const { ts, ...rest } = parsed;
  return { seq: id, ts: String(ts ?? ''), type, data: rest };
}
