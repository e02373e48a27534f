import nodemailer, { type Transporter } from 'nodemailer';
import type { Notice } from '../render.ts';
import { noticeText } from './text.ts';
import type { ChannelSender } from './types.ts';

export interface EmailChannelOptions {
  host: string;
  port: number;
  secure: boolean;
  requireTls: boolean;
  user?: string;
  password?: string;
  from: string;
  to: string[];
  timeoutMs: number;
}

/** Email over SMTP (nodemailer): the notice's text, its headline as the subject. */
export class EmailChannel implements ChannelSender {
  readonly type = 'email' as const;
  readonly #transport: Transporter;

  constructor(
    readonly name: string,
    private readonly options: EmailChannelOptions,
  ) {
    this.#transport = nodemailer.createTransport({
      host: options.host,
      port: options.port,
      secure: options.secure,
      requireTLS: options.requireTls,
      ignoreTLS: !options.requireTls && !options.secure,
      ...(options.user ? { auth: { user: options.user, pass: options.password ?? '' } } : {}),
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
    });
  }

  async send(n: Notice): Promise<void> {
    await this.#transport.sendMail({
      from: this.options.from,
      to: this.options.to,
      subject: `[Countersign] ${n.headline}`.slice(0, 200),
      text: noticeText(n),
      headers: { 'X-Countersign-Event': n.eventId },
    });
  }

  async close(): Promise<void> {
    this.#transport.close();
  }
}
