import type { Transporter } from 'nodemailer';
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
  #transport: Transporter | null = null;

  constructor(
    readonly name: string,
    private readonly options: EmailChannelOptions,
  ) {}

  /** nodemailer loads on the first send: a server without email never pays for it. */
  async #smtp(): Promise<Transporter> {
    const options = this.options;
    const nodemailer = (await import('nodemailer')).default;
    this.#transport ??= nodemailer.createTransport({
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
    return this.#transport;
  }

  async send(n: Notice): Promise<void> {
    await (await this.#smtp()).sendMail({
      from: this.options.from,
      to: this.options.to,
      subject: `[Countersign] ${n.headline}`.slice(0, 200),
      text: noticeText(n),
      headers: { 'X-Countersign-Event': n.eventId },
    });
  }

  async close(): Promise<void> {
    this.#transport?.close();
  }
}
