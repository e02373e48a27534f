import { redactCredentialShapes, redactValue } from '../secrets/index.ts';

/**
 * Break-glass notifications (invariant 14: loudly audited). A notification is a courtesy copy of
 * what the audit log already holds: it is sent after the decision, never awaited by it, and a
 * failed delivery is logged, never retried into the request path. The audit entry is the record.
 */
export interface BreakGlassNotification {
  event: 'override.issue' | 'override.use' | 'override.revoke';
  /** `allowed`: the override was issued, used or revoked; `refused`: an attempt was turned down. */
  outcome: 'allowed' | 'refused';
  breakGlass: true;
  tenant: string;
  override: string | null;
  actor: string;
  environment: string | null;
  reason: string | null;
  at: string;
  details: Record<string, unknown>;
}

export interface Notifier {
  /** Never throws and never blocks a decision: callers do not await it on a security path. */
  notify(n: BreakGlassNotification): Promise<void>;
}

/** Logs instead of sending: what runs when no webhook is configured. */
export class LogNotifier implements Notifier {
  constructor(private readonly log: (line: string) => void) {}

  async notify(n: BreakGlassNotification): Promise<void> {
    this.log(
      redactCredentialShapes(`BREAK-GLASS ${n.event} ${n.outcome}: override ${n.override ?? '-'} by ${n.actor} in ${n.environment ?? '-'}`),
    );
  }
}

export interface WebhookNotifierOptions {
  url: string;
  timeoutMs: number;
  log: (line: string) => void;
  fetch?: typeof fetch;
}

/** POSTs each notification as JSON to the configured URL (validated by the config schema). */
export class WebhookNotifier implements Notifier {
  readonly #fetch: typeof fetch;

  constructor(private readonly options: WebhookNotifierOptions) {
    this.#fetch = options.fetch ?? fetch;
  }

  async notify(n: BreakGlassNotification): Promise<void> {
    try {
      const res = await this.#fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'countersign-notifier' },
        // A reason or detail typed by a person may hold a pasted credential (invariant 12).
        body: JSON.stringify(redactValue(n, redactCredentialShapes)),
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) this.options.log(`break-glass webhook answered HTTP ${res.status} for ${n.event} (${n.override ?? '-'})`);
    } catch (err) {
      this.options.log(`break-glass webhook failed for ${n.event} (${n.override ?? '-'}): ${(err as Error).message}`);
    }
  }
}

export function createNotifier(config: { webhookUrl: string; timeoutMilliseconds: number }, log: (line: string) => void): Notifier {
  if (!config.webhookUrl) return new LogNotifier(log);
  return new WebhookNotifier({ url: config.webhookUrl, timeoutMs: config.timeoutMilliseconds, log });
}
