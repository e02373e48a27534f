import type { Notice } from '../render.ts';

/** The plain text of a notice: the headline, then one fact a line (email, Telegram, Slack's fallback). */
export function noticeText(n: Notice): string {
  return [n.headline, ...n.lines, ...(n.url ? [n.url] : [])].join('\n');
}
