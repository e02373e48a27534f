import type { WebClient } from '@slack/web-api';
import { mintButtons, type ReviewerButtons } from '../buttons.ts';
import type { Notice } from '../render.ts';
import { noticeText } from './text.ts';
import type { ChannelSender, SendContext } from './types.ts';

export interface SlackChannelOptions {
  name: string;
  channel: string;
  decide: boolean;
  baseUrl: string;
  botToken: string;
  timeoutMs: number;
  buttonTtlMinutes: number;
}

/** The block_id of the optional comment field; the interaction payload carries its value in `state`. */
export const SLACK_COMMENT_BLOCK = 'cs_comment';

function blocks(n: Notice, buttons: ReviewerButtons[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${n.headline}*\n${n.lines.join('\n')}`.slice(0, 3000) } },
  ];
  const elements: Record<string, unknown>[] = [];
  buttons.forEach((b, i) => {
    if (b.approve)
      elements.push({
        type: 'button',
        action_id: `cs_approve_${i}`,
        style: 'primary',
        text: { type: 'plain_text', text: `Approve as ${b.reviewerName}`.slice(0, 75) },
        value: `cs:${b.approve}`,
      });
    elements.push({
      type: 'button',
      action_id: `cs_reject_${i}`,
      style: 'danger',
      text: { type: 'plain_text', text: `Reject as ${b.reviewerName}`.slice(0, 75) },
      value: `cs:${b.reject}`,
    });
  });
  if (buttons.length > 0)
    out.push({
      type: 'input',
      block_id: SLACK_COMMENT_BLOCK,
      optional: true,
      label: { type: 'plain_text', text: 'Comment (optional)' },
      element: { type: 'plain_text_input', action_id: 'comment', max_length: 2000 },
    });
  if (n.url) elements.push({ type: 'button', action_id: 'cs_open', text: { type: 'plain_text', text: 'Open in the console' }, url: n.url });
  if (elements.length > 0) out.push({ type: 'actions', block_id: 'cs_actions', elements });
  return out;
}

/**
 * Slack through the Web API. A plan has one message per channel: the first notice posts it
 * (chat.postMessage), later ones edit it in place (chat.update) with the seats and the outcome.
 */
export class SlackChannel implements ChannelSender {
  readonly type = 'slack' as const;
  readonly name: string;
  #client: WebClient | null = null;

  constructor(private readonly options: SlackChannelOptions) {
    this.name = options.name;
  }

  /** The SDK loads on the first send: a server without Slack never pays for it. */
  async #slack(): Promise<WebClient> {
    const { WebClient } = await import('@slack/web-api');
    // No retries here: the outbox retries with backoff, and a send never blocks a change.
    this.#client ??= new WebClient(this.options.botToken, {
      slackApiUrl: this.options.baseUrl,
      retryConfig: { retries: 0 },
      timeout: this.options.timeoutMs,
      rejectRateLimitedCalls: true,
      allowAbsoluteUrls: false,
    });
    return this.#client;
  }

  async send(n: Notice, ctx: SendContext): Promise<void> {
    const client = await this.#slack();
    const existing = n.plan ? await ctx.scope.chat.message(n.plan.id, this.name) : undefined;
    const buttons =
      n.plan && this.options.decide
        ? await mintButtons(ctx.scope, n.plan, {
            channel: this.name,
            platform: 'slack',
            now: ctx.now,
            ttlMinutes: this.options.buttonTtlMinutes,
          })
        : [];
    const text = noticeText(n);
    if (existing) {
      await client.chat.update({ channel: existing.chat_id, ts: existing.message_id, text, blocks: blocks(n, buttons) as never });
      return;
    }
    const res = await client.chat.postMessage({ channel: this.options.channel, text, blocks: blocks(n, buttons) as never });
    if (n.plan && res.ts)
      await ctx.scope.chat.recordMessage({
        plan_id: n.plan.id,
        channel: this.name,
        platform: 'slack',
        chat_id: String(res.channel ?? this.options.channel),
        message_id: res.ts,
        created_at: ctx.now.toISOString(),
      });
  }
}
