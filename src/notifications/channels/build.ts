import type { ResolvedNotifications } from '../config.ts';
import { EmailChannel } from './email.ts';
import { SlackChannel } from './slack.ts';
import { TelegramChannel } from './telegram.ts';
import type { ChannelSender } from './types.ts';
import { WebhookChannel } from './webhook.ts';

/** One sender per configured channel, with its secrets resolved. */
export function buildSenders(n: ResolvedNotifications, now: () => Date): Map<string, ChannelSender> {
  const s = n.settings;
  const timeoutMs = s.delivery.timeoutMilliseconds;
  const out = new Map<string, ChannelSender>();
  for (const [name, c] of Object.entries(s.channels)) {
    if (c.type === 'slack' && s.slack)
      out.set(
        name,
        new SlackChannel({
          name,
          channel: c.channel,
          decide: c.decide,
          baseUrl: s.slack.baseUrl,
          botToken: n.secret(s.slack.botToken),
          timeoutMs,
          buttonTtlMinutes: s.chat.buttonTtlMinutes,
        }),
      );
    if (c.type === 'telegram' && s.telegram)
      out.set(
        name,
        new TelegramChannel({
          name,
          chatId: c.chatId,
          decide: c.decide,
          apiRoot: s.telegram.apiRoot,
          botToken: n.secret(s.telegram.botToken),
          timeoutMs,
          buttonTtlMinutes: s.chat.buttonTtlMinutes,
        }),
      );
    if (c.type === 'webhook') out.set(name, new WebhookChannel(name, { url: c.url, secret: n.secret(c.secret), timeoutMs, now }));
    if (c.type === 'email')
      out.set(name, new EmailChannel(name, { ...c, password: c.password ? n.secret(c.password) : undefined, timeoutMs }));
  }
  return out;
}
