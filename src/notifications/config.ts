import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import { resolveSecret } from '../secrets/index.ts';
import { NOTIFICATION_KINDS } from './events.ts';

export const NOTIFICATIONS_FILE = 'notifications.yaml';

/** A credential is a reference, never a value in the file (invariant 12): `env:NAME` or `file:/abs/path`. */
const SecretRef = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/.+)$/, 'must be a secret reference: env:NAME or file:/absolute/path')
  .describe('A secret reference, `env:NAME` or `file:/absolute/path`; the value itself never appears in this file.');

const HttpUrl = z.url().refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL');
const ChannelName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes');

const SlackChannel = z
  .object({
    type: z.literal('slack').describe('Slack, through the Web API (chat.postMessage, chat.update).'),
    channel: z.string().min(1).describe('The Slack channel id (e.g. C0123456789) messages are posted to.'),
    decide: z.boolean().default(false).describe('Show approve and reject buttons to linked reviewers (chat decisions are still policy).'),
  })
  .strict();
const TelegramChannel = z
  .object({
    type: z.literal('telegram').describe('Telegram, through the Bot API (sendMessage, editMessageText).'),
    chatId: z.string().min(1).describe('The Telegram chat id (a group is negative, e.g. "-1001234567890").'),
    decide: z.boolean().default(false).describe('Show approve and reject buttons (an inline keyboard) to linked reviewers.'),
  })
  .strict();
const WebhookChannel = z
  .object({
    type: z.literal('webhook').describe('A JSON POST signed with HMAC-SHA256 over `timestamp.body` (see docs/notifications.md).'),
    url: HttpUrl.describe('Where each notification is POSTed. https; http only to loopback.'),
    secret: SecretRef.describe('The shared HMAC key the receiver verifies `X-Countersign-Signature` with.'),
  })
  .strict();
const EmailChannel = z
  .object({
    type: z.literal('email').describe('Email over SMTP (nodemailer).'),
    host: z.string().min(1).describe('SMTP server host.'),
    port: z.number().int().min(1).max(65535).default(587).describe('SMTP server port.'),
    secure: z.boolean().default(false).describe('TLS from the first byte (port 465); false uses STARTTLS when the server offers it.'),
    requireTls: z.boolean().default(true).describe('Refuse to send unless the connection is TLS (false only for a loopback relay).'),
    user: z.string().optional().describe('SMTP user name, when the server asks for authentication.'),
    password: SecretRef.optional().describe('SMTP password reference, with user.'),
    from: z.string().min(3).describe('The From address.'),
    to: z.array(z.string().min(3)).min(1).describe('Recipients.'),
  })
  .strict();

export const ChannelSchema = z.discriminatedUnion('type', [SlackChannel, TelegramChannel, WebhookChannel, EmailChannel]);
export type ChannelConfig = z.infer<typeof ChannelSchema>;

const RISKS = ['low', 'medium', 'high', 'critical'] as const;

export const RouteSchema = z
  .object({
    environments: z.array(z.string().min(1)).optional().describe('Plan environments this route matches; absent: every environment.'),
    risks: z.array(z.enum(RISKS)).optional().describe('Plan risks this route matches; absent: every risk.'),
    groups: z
      .array(z.string().min(1))
      .optional()
      .describe("Matches when a plan's approval requirement names one of these groups; absent: any plan."),
    events: z.array(z.enum(NOTIFICATION_KINDS)).optional().describe('Event kinds this route carries; absent: every kind.'),
    channels: z.array(ChannelName).min(1).describe('Channels (names under `channels`) the matching events go to.'),
  })
  .strict();
export type RouteConfig = z.infer<typeof RouteSchema>;

/** `<dir>/notifications.yaml`: who hears about what. Absent file: no notifications, no chat. */
export const NotificationSettingsSchema = z
  .object({
    tenant: z.string().min(1).default('default').describe('The tenant (by name) whose plans these channels report and decide.'),
    consoleUrl: HttpUrl.optional().describe('Base URL of the web console; messages link to `<consoleUrl>/plans/<id>`.'),
    slack: z
      .object({
        baseUrl: HttpUrl.default('https://slack.com/api/').describe("Slack Web API base URL (a local fake's in tests)."),
        botToken: SecretRef.describe('The bot token (xoxb-…) reference.'),
        signingSecret: SecretRef.describe("The app's signing secret reference: every interaction request is verified with it."),
      })
      .strict()
      .optional()
      .describe('The Slack app, shared by every slack channel.'),
    telegram: z
      .object({
        apiRoot: HttpUrl.default('https://api.telegram.org').describe("Telegram Bot API root (a local fake's in tests)."),
        botToken: SecretRef.describe('The bot token reference.'),
        webhookSecret: SecretRef.describe('The `secret_token` set with setWebhook: every update must carry it.'),
      })
      .strict()
      .optional()
      .describe('The Telegram bot, shared by every telegram channel.'),
    channels: z.record(ChannelName, ChannelSchema).default({}).describe('Named channels.'),
    routes: z.array(RouteSchema).default([]).describe('Which events go to which channels; an event goes to the union of matching routes.'),
    delivery: z
      .object({
        pollMilliseconds: z.number().int().min(20).max(60_000).default(500).describe('How often the dispatcher looks for new events.'),
        maxAttempts: z.number().int().min(1).max(50).default(10).describe('Attempts per delivery before it is marked dead.'),
        backoffBaseMilliseconds: z.number().int().min(10).max(600_000).default(1000).describe('First retry delay; doubles per attempt.'),
        backoffMaxMilliseconds: z.number().int().min(10).max(86_400_000).default(600_000).describe('Longest retry delay.'),
        timeoutMilliseconds: z.number().int().min(100).max(120_000).default(10_000).describe('How long one send may take.'),
        concurrency: z.number().int().min(1).max(64).default(8).describe('Sends in flight at once.'),
      })
      .strict()
      .prefault({})
      .describe('The outbox worker: retries with exponential backoff, never in the request path.'),
    chat: z
      .object({
        buttonTtlMinutes: z
          .number()
          .min(1)
          .max(7 * 24 * 60)
          .default(24 * 60)
          .describe('A decision button expires after this (or with its plan, if sooner).'),
        linkCodeTtlMinutes: z.number().min(1).max(60).default(10).describe('A link code must be used within this many minutes.'),
        stepUpEnvironments: z
          .array(z.string().min(1))
          .default([])
          .describe('Environments whose plans need step-up (the console) to approve; high and critical risk always do.'),
      })
      .strict()
      .prefault({})
      .describe('Deciding from chat.'),
  })
  .strict()
  .superRefine((s, ctx) => {
    for (const [i, r] of s.routes.entries())
      for (const c of r.channels)
        if (!s.channels[c]) ctx.addIssue({ code: 'custom', path: ['routes', i, 'channels'], message: `no channel named "${c}"` });
    for (const [name, c] of Object.entries(s.channels)) {
      if (c.type === 'slack' && !s.slack)
        ctx.addIssue({ code: 'custom', path: ['channels', name], message: 'a slack channel needs the `slack` section' });
      if (c.type === 'telegram' && !s.telegram)
        ctx.addIssue({ code: 'custom', path: ['channels', name], message: 'a telegram channel needs the `telegram` section' });
      if (c.type === 'webhook') {
        const u = new URL(c.url);
        if (u.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname))
          ctx.addIssue({ code: 'custom', path: ['channels', name, 'url'], message: 'must be https (http only to loopback)' });
      }
    }
  });
export type NotificationSettings = z.infer<typeof NotificationSettingsSchema>;

/** Settings with every secret resolved, ready for the senders (never logged, never stored). */
export interface ResolvedNotifications {
  settings: NotificationSettings;
  secrets: ReadonlyMap<string, string>;
  secret(ref: string): string;
}

/** Reads and validates `<dir>/notifications.yaml` and resolves its secrets; null when the file is absent. */
export async function loadNotificationSettings(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedNotifications | null> {
  const file = join(dir, NOTIFICATIONS_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CountersignError('CONFIG_INVALID', `cannot read ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new CountersignError('CONFIG_INVALID', `${file}: not valid YAML: ${(err as Error).message}`);
  }
  const parsed = NotificationSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CountersignError('CONFIG_INVALID', `${file}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  const settings = parsed.data;
  const refs = new Set<string>();
  if (settings.slack) refs.add(settings.slack.botToken).add(settings.slack.signingSecret);
  if (settings.telegram) refs.add(settings.telegram.botToken).add(settings.telegram.webhookSecret);
  for (const c of Object.values(settings.channels)) {
    if (c.type === 'webhook') refs.add(c.secret);
    if (c.type === 'email' && c.password) refs.add(c.password);
  }
  const secrets = new Map<string, string>();
  // A channel whose credential cannot be read stops the start (fail closed), naming the reference.
  for (const ref of refs) secrets.set(ref, await resolveSecret({ name: 'notifications', from: ref }, { env }));
  return {
    settings,
    secrets,
    secret(ref: string) {
      const v = secrets.get(ref);
      if (v === undefined) throw new CountersignError('INTERNAL', `secret ${ref} was not resolved`);
      return v;
    },
  };
}
