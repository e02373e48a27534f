import { createHmac } from 'node:crypto';
import { redactCredentialShapes, redactValue } from '../../secrets/index.ts';
import type { Notice } from '../render.ts';
import { noticeText } from './text.ts';
import type { ChannelSender } from './types.ts';

export const WEBHOOK_TIMESTAMP_HEADER = 'x-countersign-timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'x-countersign-signature';
export const WEBHOOK_ID_HEADER = 'x-countersign-event';

/** `v1=` + hex HMAC-SHA256 over `<timestamp>.<body>` (timestamp: Unix seconds, as sent in its header). */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * A generic JSON POST. The signature covers the timestamp, so a receiver refuses an old body
 * replayed later; the event id header lets it drop a redelivery (delivery is at least once).
 */
export class WebhookChannel implements ChannelSender {
  readonly type = 'webhook' as const;

  constructor(
    readonly name: string,
    private readonly options: { url: string; secret: string; timeoutMs: number; now: () => Date },
  ) {}

  async send(n: Notice): Promise<void> {
    const body = JSON.stringify(
      redactValue(
        { id: n.eventId, kind: n.kind, subject: n.subject, at: n.at, text: noticeText(n), url: n.url, plan: n.plan, details: n.payload },
        redactCredentialShapes,
      ),
    );
    const timestamp = String(Math.floor(this.options.now().getTime() / 1000));
    const res = await fetch(this.options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'countersign-notifier',
        [WEBHOOK_TIMESTAMP_HEADER]: timestamp,
        [WEBHOOK_SIGNATURE_HEADER]: signWebhook(this.options.secret, timestamp, body),
        [WEBHOOK_ID_HEADER]: n.eventId,
      },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
  }
}
