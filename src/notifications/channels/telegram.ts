import type { Api } from 'grammy';
import type { InlineKeyboardButton } from 'grammy/types';
import { mintButtons, type ReviewerButtons } from '../buttons.ts';
import type { Notice } from '../render.ts';
import { noticeText } from './text.ts';
import type { ChannelSender, SendContext } from './types.ts';

export interface TelegramChannelOptions {
  name: string;
  chatId: string;
  decide: boolean;
  apiRoot: string;
  botToken: string;
  timeoutMs: number;
  buttonTtlMinutes: number;
}

function keyboard(n: Notice, buttons: ReviewerButtons[]): InlineKeyboardButton[][] {
  const rows: InlineKeyboardButton[][] = buttons.map((b) => [
    ...(b.approve ? [{ text: `Approve as ${b.reviewerName}`, callback_data: `cs:${b.approve}` }] : []),
    { text: `Reject as ${b.reviewerName}`, callback_data: `cs:${b.reject}` },
  ]);
  if (n.url) rows.push([{ text: 'Open in the console', url: n.url }]);
  return rows;
}

/**
 * Telegram through the Bot API (grammY). Like Slack, one message per plan and channel, edited in
 * place (editMessageText); buttons are an inline keyboard whose callback_data is `cs:<code>`.
 * A comment is typed as a reply to the message before pressing a button.
 */
export class TelegramChannel implements ChannelSender {
  readonly type = 'telegram' as const;
  readonly name: string;
  #api: Api | null = null;

  constructor(private readonly options: TelegramChannelOptions) {
    this.name = options.name;
  }

  /** grammY loads on the first send: a server without Telegram never pays for it. */
  async #telegram(): Promise<{ api: Api; GrammyError: typeof import('grammy').GrammyError }> {
    const { Api, GrammyError } = await import('grammy');
    this.#api ??= new Api(this.options.botToken, {
      apiRoot: this.options.apiRoot,
      timeoutSeconds: Math.ceil(this.options.timeoutMs / 1000),
    });
    return { api: this.#api, GrammyError };
  }

  async send(n: Notice, ctx: SendContext): Promise<void> {
    const { api, GrammyError } = await this.#telegram();
    const existing = n.plan ? await ctx.scope.chat.message(n.plan.id, this.name) : undefined;
    const buttons =
      n.plan && this.options.decide
        ? await mintButtons(ctx.scope, n.plan, {
            channel: this.name,
            platform: 'telegram',
            now: ctx.now,
            ttlMinutes: this.options.buttonTtlMinutes,
          })
        : [];
    const text = noticeText(n).slice(0, 4096);
    const reply_markup = { inline_keyboard: keyboard(n, buttons) };
    if (existing) {
      try {
        await api.editMessageText(existing.chat_id, Number(existing.message_id), text, { reply_markup });
      } catch (err) {
        // The same text again (a retried edit) is not a failure.
        if (!(err instanceof GrammyError && /message is not modified/.test(err.description))) throw err;
      }
      return;
    }
    const sent = await api.sendMessage(this.options.chatId, text, { reply_markup });
    if (n.plan)
      await ctx.scope.chat.recordMessage({
        plan_id: n.plan.id,
        channel: this.name,
        platform: 'telegram',
        chat_id: String(sent.chat.id),
        message_id: String(sent.message_id),
        created_at: ctx.now.toISOString(),
      });
  }

  /** Answers a button press (the toast the presser sees). */
  async answer(callbackQueryId: string, text: string): Promise<true> {
    const { api } = await this.#telegram();
    return api.answerCallbackQuery(callbackQueryId, { text: text.slice(0, 200), show_alert: true });
  }

  async reply(chatId: string, text: string): Promise<unknown> {
    const { api } = await this.#telegram();
    return api.sendMessage(chatId, text.slice(0, 4096));
  }
}
