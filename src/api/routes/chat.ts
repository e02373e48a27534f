import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ChatService, TelegramUpdate } from '../../chat/index.ts';
import {
  ChatLinkStartResultSchema,
  ChatLinksSchema,
  ChatUnlinkSchema,
  NotificationChannelsSchema,
  type Pipeline,
} from '../../operations/index.ts';
import { inputOf, runFor } from '../operations.ts';
import { jsonSchema, success } from '../schema.ts';

/** Linking chat accounts (authenticated) and the notification channels' health. */
export function chatRoutes(app: FastifyInstance, ops: Pipeline, chat: ChatService | null): void {
  app.post(
    '/v1/chat/links',
    {
      schema: {
        tags: ['chat'],
        summary: 'Start linking a chat account to yourself: a one-time code to send to the Slack app or Telegram bot.',
        response: { 201: success(ChatLinkStartResultSchema, 'The one-time link code and how to use it.') },
      },
      config: { operation: 'chat.link.start' },
    },
    async (request, reply) => reply.status(201).send(await runFor(ops, request, 'chat.link.start', inputOf(request.body))),
  );
  app.get(
    '/v1/chat/links',
    {
      schema: { tags: ['chat'], summary: 'Your linked chat accounts.', response: { 200: success(ChatLinksSchema, 'Linked accounts.') } },
      config: { operation: 'chat.links' },
    },
    async (request) => runFor(ops, request, 'chat.links', {}),
  );
  app.delete(
    '/v1/chat/links/:platform',
    {
      schema: {
        tags: ['chat'],
        summary: 'Unlink your chat account on one platform.',
        params: jsonSchema(ChatUnlinkSchema),
        response: { 200: success(z.object({ unlinked: z.boolean() }), 'Whether a link was removed.') },
      },
      config: { operation: 'chat.unlink' },
    },
    async (request) => runFor(ops, request, 'chat.unlink', { platform: (request.params as { platform: string }).platform }),
  );
  app.get(
    '/v1/notifications/channels',
    {
      schema: {
        tags: ['chat'],
        summary: 'Notification channels and their delivery queues: pending, dead, the last error.',
        response: { 200: success(NotificationChannelsSchema, 'One entry per configured channel.') },
      },
      config: { operation: 'notification.channels' },
    },
    async (request) => runFor(ops, request, 'notification.channels', {}),
  );
  if (chat) void app.register(async (scoped) => callbackRoutes(scoped, chat));
}

/**
 * The platforms' callbacks: public (no bearer token) because each is authenticated by its
 * platform's signature instead, verified over the raw body before anything in it is read.
 */
async function callbackRoutes(app: FastifyInstance, chat: ChatService): Promise<void> {
  // Slack posts forms; the signature covers the exact bytes, so the body stays a string.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  const hidden = { hide: true } as Record<string, unknown>;
  if (chat.slackEnabled) {
    app.post(
      '/v1/chat/slack/interactions',
      { schema: hidden, config: { public: true, operation: ['plan.approve', 'plan.reject'] } },
      async (request, reply) => {
        await chat.slackInteraction(request.headers, String(request.body ?? ''));
        return reply.status(200).send('');
      },
    );
    app.post('/v1/chat/slack/commands', { schema: hidden, config: { public: true, operation: 'chat.link' } }, async (request) => {
      const outcome = await chat.slackCommand(request.headers, String(request.body ?? ''));
      return { response_type: 'ephemeral', text: outcome.text };
    });
  }
  if (chat.telegramEnabled) {
    app.post(
      '/v1/chat/telegram',
      { schema: hidden, config: { public: true, operation: ['plan.approve', 'plan.reject', 'chat.link'] } },
      async (request) => {
        await chat.telegramUpdate(request.headers, (request.body ?? {}) as TelegramUpdate);
        return { ok: true };
      },
    );
  }
}
