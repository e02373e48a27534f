import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import { chatCodeHash, newChatCode } from '../notifications/index.ts';
import type { ResourceRef } from '../policy/index.ts';
import type { ChatCodeRow } from '../store/index.ts';
import type { OperationDeps } from './deps.ts';
import type { AnyOperation, Operation, OperationContext } from './types.ts';

export const CHAT_PLATFORMS = ['slack', 'telegram'] as const;
const Platform = z.enum(CHAT_PLATFORMS);

export const ChatLinkStartResultSchema = z.object({
  code: z.string(),
  expiresAt: z.string(),
  instructions: z.array(z.string()),
});
export const ChatLinksSchema = z.object({
  links: z.array(z.object({ platform: z.string(), chatUserId: z.string(), chatUserName: z.string(), createdAt: z.string() })),
});
export const NotificationChannelsSchema = z.object({
  channels: z.array(
    z.object({
      channel: z.string(),
      type: z.string(),
      ok: z.boolean(),
      pending: z.number(),
      dead: z.number(),
      sent: z.number(),
      lastError: z.string().nullable(),
      lastSentAt: z.string().nullable(),
    }),
  ),
});
export const ChatUnlinkSchema = z.object({ platform: Platform }).strict();

const CompleteInput = z
  .object({
    code: z.string().min(10).max(64),
    platform: Platform,
    chatUserId: z.string().min(1).max(128),
    chatUserName: z.string().max(256).default(''),
  })
  .strict();

/** The caller itself: a chat account is linked to, and by, the principal it will speak for. */
function self(ctx: OperationContext): ResourceRef {
  return { type: 'Principal', id: ctx.principal.id, tenantId: ctx.principal.tenantId };
}

export function chatOperations(deps: OperationDeps): AnyOperation[] {
  const ttlMinutes = deps.chatLinkTtlMinutes ?? 10;
  /** Starts a link: a one-time code the principal then sends to the bot (`/countersign link <code>`, `/link <code>`). */
  const start: Operation<Record<string, never>, null, z.infer<typeof ChatLinkStartResultSchema>> = {
    name: 'chat.link.start',
    action: 'chat.link',
    kind: 'mutation',
    summary: 'Start linking a chat account to yourself: a one-time code to send to the Slack app or Telegram bot.',
    input: z.object({}).strict() as unknown as z.ZodType<Record<string, never>>,
    load: async () => null,
    resource: (_l, _i, ctx) => self(ctx),
    act: async (tx, _l, _i, ctx) => {
      const code = newChatCode();
      const expiresAt = new Date(ctx.now.getTime() + ttlMinutes * 60_000).toISOString();
      await tx.chat.insertCode({
        code_hash: chatCodeHash(code),
        purpose: 'link',
        principal_id: ctx.principal.id,
        platform: null,
        chat_user_id: null,
        channel: null,
        plan_id: null,
        plan_hash: null,
        created_at: ctx.now.toISOString(),
        expires_at: expiresAt,
      });
      return {
        result: {
          code,
          expiresAt,
          instructions: [
            `Slack: /countersign link ${code}`,
            `Telegram: send /link ${code} to the bot`,
            `The code works once, until ${expiresAt}.`,
          ],
        },
        // The code is a credential until used: its hash prefix identifies it, never the code.
        details: { codeHash: chatCodeHash(code).slice(0, 12), expiresAt },
      };
    },
  };
  /** Completes a link from chat: run for the principal the code names, so policy decides for them. */
  const complete: Operation<z.infer<typeof CompleteInput>, ChatCodeRow, { linked: true }> = {
    name: 'chat.link',
    action: 'chat.link',
    kind: 'mutation',
    summary: 'Complete a chat link with the one-time code (from the Slack app or the Telegram bot).',
    input: CompleteInput,
    load: async (tx, req) => {
      const code = await tx.chat.codeByHash(chatCodeHash(req.code));
      if (code?.purpose !== 'link') throw new CountersignError('CHAT_CODE_INVALID', 'unknown link code');
      return code;
    },
    resource: (_l, _i, ctx) => self(ctx),
    guards: [
      (_tx, code, _i, ctx) => {
        if (code.principal_id !== ctx.principal.id)
          throw new CountersignError('CHAT_CODE_INVALID', 'the link code belongs to another principal');
      },
    ],
    act: async (tx, code, req, ctx) => {
      const at = ctx.now.toISOString();
      if (!(await tx.chat.consumeCode(code.code_hash, at)))
        throw new CountersignError('CHAT_CODE_INVALID', 'the link code was already used or has expired; start a new link');
      await tx.chat.link({
        platform: req.platform,
        chat_user_id: req.chatUserId,
        principal_id: ctx.principal.id,
        chat_user_name: req.chatUserName,
        created_at: at,
      });
      return { result: { linked: true }, details: { platform: req.platform, chatUserId: req.chatUserId, chatUserName: req.chatUserName } };
    },
  };
  const list: Operation<Record<string, never>, null, z.infer<typeof ChatLinksSchema>> = {
    name: 'chat.links',
    action: 'chat.link',
    kind: 'read',
    summary: 'Your linked chat accounts.',
    input: z.object({}).strict() as unknown as z.ZodType<Record<string, never>>,
    load: async () => null,
    resource: (_l, _i, ctx) => self(ctx),
    act: async (tx, _l, _i, ctx) => ({
      result: {
        links: (await tx.chat.links({ principalId: ctx.principal.id })).map((l) => ({
          platform: l.platform,
          chatUserId: l.chat_user_id,
          chatUserName: l.chat_user_name,
          createdAt: l.created_at,
        })),
      },
    }),
  };
  const unlink: Operation<z.infer<typeof ChatUnlinkSchema>, null, { unlinked: boolean }> = {
    name: 'chat.unlink',
    action: 'chat.link',
    kind: 'mutation',
    summary: 'Unlink your chat account on one platform: its buttons stop working at once.',
    input: ChatUnlinkSchema,
    load: async () => null,
    resource: (_l, _i, ctx) => self(ctx),
    act: async (tx, _l, req, ctx) => {
      const unlinked = await tx.chat.unlink(req.platform, ctx.principal.id);
      return { result: { unlinked }, details: { platform: req.platform, unlinked } };
    },
  };
  /** Each notification channel and its queue (countersign status): a failing channel shows here. */
  const channels: Operation<Record<string, never>, null, z.infer<typeof NotificationChannelsSchema>> = {
    name: 'notification.channels',
    action: 'audit.read',
    kind: 'read',
    summary: 'Notification channels and their delivery queues: pending, dead, the last error.',
    input: z.object({}).strict() as unknown as z.ZodType<Record<string, never>>,
    load: async () => null,
    resource: (_l, _i, ctx) => ({ type: 'Tenant', id: ctx.principal.tenantId, tenantId: ctx.principal.tenantId }),
    act: async () => ({ result: { channels: deps.notificationHealth ? await deps.notificationHealth() : [] } }),
  };
  return [start, complete, list, unlink, channels];
}
