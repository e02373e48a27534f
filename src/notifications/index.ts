export { signWebhook, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER } from './channels/webhook.ts';
export { chatCodeHash, newChatCode } from './codes.ts';
// ---- the outbox, routing, channels and the dispatcher (issue 14) ----
export {
  type ChannelConfig,
  loadNotificationSettings,
  NOTIFICATIONS_FILE,
  type NotificationSettings,
  NotificationSettingsSchema,
  type ResolvedNotifications,
} from './config.ts';
export { type ChannelHealth, type DispatcherOptions, NotificationDispatcher } from './dispatcher.ts';
export { type ChangeReport, NOTIFICATION_KINDS, type NotificationKind, notificationFor, recordNotification } from './events.ts';
export {
  type BreakGlassNotification,
  createNotifier,
  LogNotifier,
  type Notifier,
  WebhookNotifier,
  type WebhookNotifierOptions,
} from './webhook.ts';
