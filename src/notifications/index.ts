export {
  type BreakGlassNotification,
  createNotifier,
  LogNotifier,
  type Notifier,
  WebhookNotifier,
  type WebhookNotifierOptions,
} from './webhook.ts';
