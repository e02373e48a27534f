import type { Command } from 'commander';
import { CountersignError } from '../../errors/index.ts';
import { emit, type Io } from '../output.ts';
import { clientFrom, type RemoteOptions } from '../remote.ts';
import { remoteOptions } from './plan.ts';

type JsonOptions = RemoteOptions & { json?: boolean };

/** `countersign chat link|links|unlink`: tie a Slack or Telegram account to yourself (docs/notifications.md). */
export function registerChat(program: Command, io: Io): void {
  const chat = program.command('chat').description('Link your Slack or Telegram account so you can review plans from chat.');
  remoteOptions(chat.command('link'))
    .description('Print a one-time code; send it to the Slack app (/countersign link <code>) or the Telegram bot (/link <code>).')
    .action(async (opts: JsonOptions) => {
      const r = await clientFrom(opts).startChatLink();
      emit(io, Boolean(opts.json), r, () => [`Link code: ${r.code}`, ...r.instructions.map((l) => `  ${l}`)].join('\n'));
    });
  remoteOptions(chat.command('links'))
    .description('Your linked chat accounts.')
    .action(async (opts: JsonOptions) => {
      const r = await clientFrom(opts).chatLinks();
      emit(io, Boolean(opts.json), r, () =>
        r.links.length === 0
          ? 'No chat account is linked.'
          : r.links.map((l) => `${l.platform}  ${l.chatUserName || l.chatUserId}  since ${l.createdAt}`).join('\n'),
      );
    });
  remoteOptions(chat.command('unlink <platform>'))
    .description('Unlink your account on slack or telegram; its buttons stop working at once.')
    .action(async (platform: string, opts: JsonOptions) => {
      if (platform !== 'slack' && platform !== 'telegram')
        throw new CountersignError('VALIDATION_FAILED', `platform: expected slack or telegram, not "${platform}"`);
      const r = await clientFrom(opts).unlinkChat(platform);
      emit(io, Boolean(opts.json), r, () => (r.unlinked ? `Unlinked ${platform}.` : `No ${platform} account was linked.`));
    });
}
