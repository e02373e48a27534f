import { createHmac, timingSafeEqual } from 'node:crypto';
import { CountersignError } from '../errors/index.ts';

/** Slack's documented window: a request older (or newer) than 5 minutes is refused. */
export const SLACK_MAX_SKEW_SECONDS = 5 * 60;

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  // Constant time over equal lengths; a length difference says nothing about the secret.
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Verifies a Slack request: `X-Slack-Signature` must be `v0=` + hex HMAC-SHA256 (signing secret)
 * over `v0:<X-Slack-Request-Timestamp>:<raw body>`, the timestamp within 5 minutes of now.
 */
export function verifySlackRequest(secret: string, headers: Record<string, unknown>, rawBody: string, now: Date): void {
  const ts = String(headers['x-slack-request-timestamp'] ?? '');
  const sig = String(headers['x-slack-signature'] ?? '');
  if (!/^\d{1,12}$/.test(ts) || !sig) throw new CountersignError('CHAT_SIGNATURE_INVALID', 'the Slack request is not signed');
  if (Math.abs(now.getTime() / 1000 - Number(ts)) > SLACK_MAX_SKEW_SECONDS)
    throw new CountersignError('CHAT_SIGNATURE_INVALID', 'the Slack request timestamp is outside the 5-minute window (stale or replayed)');
  const expected = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${rawBody}`).digest('hex')}`;
  if (!sameText(expected, sig)) throw new CountersignError('CHAT_SIGNATURE_INVALID', 'the Slack request signature does not verify');
}

/** Verifies a Telegram update: the `X-Telegram-Bot-Api-Secret-Token` header set with setWebhook. */
export function verifyTelegramUpdate(secret: string, headers: Record<string, unknown>): void {
  const got = String(headers['x-telegram-bot-api-secret-token'] ?? '');
  if (!got || !sameText(secret, got))
    throw new CountersignError('CHAT_SIGNATURE_INVALID', 'the Telegram update does not carry the webhook secret token');
}
