import type { WebClient } from '@slack/web-api';
import type { Api } from 'grammy';
import { CountersignError } from '../errors/index.ts';
import { once } from '../lazy.ts';
import { chatCodeHash, type ResolvedNotifications } from '../notifications/index.ts';
import type { Pipeline } from '../operations/index.ts';
import type { Principal } from '../policy/index.ts';
import type { Runtime } from '../runtime.ts';
import { NO_TENANT, type Store } from '../store/index.ts';
import { verifySlackRequest, verifyTelegramUpdate } from './verify.ts';

type Platform = 'slack' | 'telegram';

export interface ChatServiceOptions {
  store: Store;
  pipeline: Pipeline;
  notifications: ResolvedNotifications;
  runtime: Runtime;
  log: (line: string) => void;
}

/** What the presser is told (ephemeral in Slack, an alert in Telegram). */
export interface ChatOutcome {
  ok: boolean;
  text: string;
}

const SLACK_COMMENT_BLOCK = 'cs_comment';

/**
 * Chat callbacks, inbound: verify the platform's signature, refuse replays, resolve the chat
 * account to the principal it was linked to, then run the SAME operation as the API
 * (plan.approve / plan.reject through the pipeline, channel `chat`): policy, separation of
 * duties and the hash check decide. Every refusal before the pipeline is audited `denied` here;
 * the pipeline audits its own.
 */
export class ChatService {
  readonly #o: ChatServiceOptions;
  // The platform SDKs load on first use: importing them costs more than the rest of the server.
  readonly #slack: (() => Promise<WebClient>) | null;
  readonly #telegram: (() => Promise<Api>) | null;

  constructor(options: ChatServiceOptions) {
    this.#o = options;
    const { slack, telegram } = options.notifications.settings;
    const secret = (ref: Parameters<typeof options.notifications.secret>[0]) => options.notifications.secret(ref);
    this.#slack = slack
      ? once(async () => {
          const { WebClient } = await import('@slack/web-api');
          return new WebClient(secret(slack.botToken), {
            slackApiUrl: slack.baseUrl,
            retryConfig: { retries: 0 },
            allowAbsoluteUrls: false,
          });
        })
      : null;
    this.#telegram = telegram
      ? once(async () => new (await import('grammy')).Api(secret(telegram.botToken), { apiRoot: telegram.apiRoot }))
      : null;
  }

  get slackEnabled(): boolean {
    return this.#slack !== null;
  }

  get telegramEnabled(): boolean {
    return this.#telegram !== null;
  }

  async #refuse(
    tenantId: string,
    platform: Platform,
    chatUserId: string,
    err: CountersignError,
    extra: Record<string, unknown> = {},
  ): Promise<never> {
    await this.#o.store.scope(tenantId).audit({
      actor: `chat:${platform}:${chatUserId || '-'}`,
      action: 'chat.callback',
      outcome: 'denied',
      resource: `chat:${platform}`,
      details: { code: err.code, reasons: [err.message], channel: 'chat', ...extra },
    });
    throw err;
  }

  /** Signature and replay, before anything in the body is believed. */
  async #authenticate(platform: Platform, headers: Record<string, unknown>, rawBody: string, replayId: () => string): Promise<void> {
    const s = this.#o.notifications.settings;
    try {
      if (platform === 'slack' && s.slack)
        verifySlackRequest(this.#o.notifications.secret(s.slack.signingSecret), headers, rawBody, this.#o.runtime.now());
      else if (platform === 'telegram' && s.telegram) verifyTelegramUpdate(this.#o.notifications.secret(s.telegram.webhookSecret), headers);
      else throw new CountersignError('CHAT_SIGNATURE_INVALID', `${platform} is not configured`);
    } catch (err) {
      if (err instanceof CountersignError) await this.#refuse(NO_TENANT, platform, '', err);
      throw err;
    }
    if (!(await this.#o.store.chatLookup.firstSighting(`${platform}:${replayId()}`, this.#o.runtime.now().toISOString())))
      await this.#refuse(NO_TENANT, platform, '', new CountersignError('CHAT_REPLAYED', `this ${platform} callback was already received`));
  }

  async #principalFor(tenantId: string, platform: Platform, chatUserId: string): Promise<Principal> {
    const scope = this.#o.store.scope(tenantId);
    const link = await scope.chat.linkOf(platform, chatUserId);
    const p = link ? await scope.directory.getPrincipal(link.principal_id) : undefined;
    if (!link || !p || p.disabled)
      return this.#refuse(
        tenantId,
        platform,
        chatUserId,
        new CountersignError(
          'CHAT_NOT_LINKED',
          'this chat account is not linked to a Countersign principal; run `countersign chat link` first',
        ),
      );
    return { tenantId, id: p.id, name: p.name, kind: p.kind, groups: p.groups, authMethod: 'chat_link' };
  }

  /** A button press: `cs:<code>` bound to plan, hash, reviewer, chat account and expiry. */
  async #decide(platform: Platform, chatUserId: string, data: string, comment: () => Promise<string>): Promise<ChatOutcome> {
    const code = data.startsWith('cs:') ? data.slice(3) : '';
    const row = code ? await this.#o.store.chatLookup.code(chatCodeHash(code)) : undefined;
    if (!row || row.purpose === 'link' || !row.plan_id || !row.plan_hash)
      return this.#refuse(NO_TENANT, platform, chatUserId, new CountersignError('CHAT_CODE_INVALID', 'this button is unknown'));
    const principal = await this.#principalFor(row.tenant_id, platform, chatUserId);
    const scope = this.#o.store.scope(row.tenant_id);
    const ref = { plan: row.plan_id };
    if (row.platform !== platform || row.chat_user_id !== chatUserId || row.principal_id !== principal.id)
      return this.#refuse(
        row.tenant_id,
        platform,
        chatUserId,
        new CountersignError('CHAT_CODE_INVALID', 'this button belongs to another reviewer'),
        ref,
      );
    if (!(await scope.chat.consumeCode(row.code_hash, this.#o.runtime.now().toISOString())))
      return this.#refuse(
        row.tenant_id,
        platform,
        chatUserId,
        new CountersignError('CHAT_CODE_INVALID', 'this button was already used, has expired, or was replaced by a newer message'),
        ref,
      );
    const decision = row.purpose;
    await this.#o.pipeline.run(
      decision === 'approve' ? 'plan.approve' : 'plan.reject',
      principal,
      { planId: row.plan_id, planHash: row.plan_hash, decision, comment: await comment() },
      'chat',
    );
    return { ok: true, text: `${decision === 'approve' ? 'Approved' : 'Rejected'} plan ${row.plan_id} as ${principal.name}.` };
  }

  async #link(platform: Platform, chatUserId: string, chatUserName: string, code: string): Promise<ChatOutcome> {
    const row = /^[A-Za-z0-9_-]{10,64}$/.test(code) ? await this.#o.store.chatLookup.code(chatCodeHash(code)) : undefined;
    if (row?.purpose !== 'link')
      return this.#refuse(NO_TENANT, platform, chatUserId, new CountersignError('CHAT_CODE_INVALID', 'unknown link code'));
    const p = await this.#o.store.scope(row.tenant_id).directory.getPrincipal(row.principal_id);
    if (!p || p.disabled)
      return this.#refuse(
        row.tenant_id,
        platform,
        chatUserId,
        new CountersignError('CHAT_CODE_INVALID', 'the link code names no active principal'),
      );
    const principal: Principal = {
      tenantId: row.tenant_id,
      id: p.id,
      name: p.name,
      kind: p.kind,
      groups: p.groups,
      authMethod: 'chat_link',
    };
    await this.#o.pipeline.run('chat.link', principal, { code, platform, chatUserId, chatUserName }, 'chat');
    return { ok: true, text: `This ${platform} account is now linked to ${p.name}.` };
  }

  /** Any refusal becomes the text the presser sees; it was audited where it was refused. */
  async #answer(run: () => Promise<ChatOutcome>): Promise<ChatOutcome> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof CountersignError) return { ok: false, text: `Refused: ${err.message}` };
      throw err;
    }
  }

  /** POST /v1/chat/slack/interactions: a form body `payload=<json>` from Block Kit buttons. */
  async slackInteraction(headers: Record<string, unknown>, rawBody: string): Promise<ChatOutcome> {
    await this.#authenticate('slack', headers, rawBody, () => String(headers['x-slack-signature']));
    const payload = JSON.parse(new URLSearchParams(rawBody).get('payload') ?? '{}') as {
      type?: string;
      user?: { id?: string };
      channel?: { id?: string };
      actions?: { value?: string }[];
      state?: { values?: Record<string, Record<string, { value?: string | null }>> };
    };
    const user = String(payload.user?.id ?? '');
    const value = payload.actions?.[0]?.value;
    if (payload.type !== 'block_actions' || !value) return { ok: true, text: '' };
    const outcome = await this.#answer(() =>
      this.#decide('slack', user, value, async () => payload.state?.values?.[SLACK_COMMENT_BLOCK]?.comment?.value ?? ''),
    );
    if (payload.channel?.id && this.#slack)
      await (await this.#slack()).chat
        .postEphemeral({ channel: payload.channel.id, user, text: outcome.text })
        .catch((err: Error) => this.#o.log(`chat: slack reply failed: ${err.message}`));
    return outcome;
  }

  /** POST /v1/chat/slack/commands: `/countersign link <code>`; the answer is the response body. */
  async slackCommand(headers: Record<string, unknown>, rawBody: string): Promise<ChatOutcome> {
    await this.#authenticate('slack', headers, rawBody, () => String(headers['x-slack-signature']));
    const form = new URLSearchParams(rawBody);
    const [verb, code = ''] = (form.get('text') ?? '').trim().split(/\s+/);
    if (verb !== 'link') return { ok: false, text: 'Usage: /countersign link <code> (get a code with `countersign chat link`)' };
    return this.#answer(() => this.#link('slack', form.get('user_id') ?? '', form.get('user_name') ?? '', code));
  }

  /** POST /v1/chat/telegram: one Bot API update (callback_query, /link, or a reply holding a comment). */
  async telegramUpdate(headers: Record<string, unknown>, update: TelegramUpdate): Promise<ChatOutcome> {
    await this.#authenticate('telegram', headers, '', () => String(update.update_id));
    const api = this.#telegram ? await this.#telegram() : null;
    if (update.callback_query) {
      const q = update.callback_query;
      const user = String(q.from?.id ?? '');
      const outcome = await this.#answer(() =>
        this.#decide('telegram', user, String(q.data ?? ''), async () => {
          const msg = q.message
            ? await this.#o.store.chatLookup.messageAt('telegram', String(q.message.chat.id), String(q.message.message_id))
            : undefined;
          return msg ? this.#o.store.scope(msg.tenant_id).chat.takeDraft(msg.plan_id, 'telegram', user) : '';
        }),
      );
      await api
        ?.answerCallbackQuery(String(q.id), { text: outcome.text.slice(0, 200), show_alert: true })
        .catch((err: Error) => this.#o.log(`chat: telegram answer failed: ${err.message}`));
      return outcome;
    }
    const m = update.message;
    if (!m?.text || !m.from) return { ok: true, text: '' };
    const user = String(m.from.id);
    const link = /^\/link(?:@\w+)?\s+(\S+)/.exec(m.text);
    if (link) {
      const outcome = await this.#answer(() => this.#link('telegram', user, m.from?.username ?? '', link[1] ?? ''));
      await api
        ?.sendMessage(String(m.chat.id), outcome.text)
        .catch((err: Error) => this.#o.log(`chat: telegram reply failed: ${err.message}`));
      return outcome;
    }
    if (m.reply_to_message) {
      // A reply to a plan message is that reviewer's comment for their next button press on it.
      const msg = await this.#o.store.chatLookup.messageAt('telegram', String(m.chat.id), String(m.reply_to_message.message_id));
      if (msg)
        await this.#o.store.scope(msg.tenant_id).chat.saveDraft({
          plan_id: msg.plan_id,
          platform: 'telegram',
          chat_user_id: user,
          comment: m.text.slice(0, 2000),
          created_at: this.#o.runtime.now().toISOString(),
        });
    }
    return { ok: true, text: '' };
  }
}

export interface TelegramUpdate {
  update_id: number;
  callback_query?: { id: string; from?: { id: number }; data?: string; message?: { message_id: number; chat: { id: number } } };
  message?: { text?: string; from?: { id: number; username?: string }; chat: { id: number }; reply_to_message?: { message_id: number } };
}
