// Deciding from chat (issue 14): inbound Slack and Telegram callbacks, verified, mapped onto
// the same operations as the API. Outbound messages are src/notifications.
export { type ChatOutcome, ChatService, type ChatServiceOptions, type TelegramUpdate } from './service.ts';
export { SLACK_MAX_SKEW_SECONDS, verifySlackRequest, verifyTelegramUpdate } from './verify.ts';
