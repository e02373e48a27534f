import type { TenantScope } from '../../store/index.ts';
import type { Notice } from '../render.ts';

export interface SendContext {
  scope: TenantScope;
  now: Date;
}

/** One configured channel. `send` throws on failure; the dispatcher retries with backoff. */
export interface ChannelSender {
  readonly name: string;
  readonly type: 'slack' | 'telegram' | 'webhook' | 'email';
  send(notice: Notice, ctx: SendContext): Promise<void>;
  close?(): Promise<void>;
}
