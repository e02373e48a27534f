import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

async function listen(server: Server | NetServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

export interface RecordedCall {
  method: string;
  args: Record<string, any>;
}

/**
 * Slack's Web API on loopback: `POST /api/<method>` with form or JSON arguments, answering
 * `{ok: true, …}` as Slack does; records every call. `failNext(n)` makes the next n calls
 * answer HTTP 500. `click` sends a signed Block Kit interaction the way Slack documents it.
 */
export class FakeSlack {
  readonly calls: RecordedCall[] = [];
  url = '';
  #server: Server;
  #fail = 0;
  #ts = 1000;

  constructor() {
    this.#server = createServer(async (req, res) => {
      const text = await body(req);
      const method = (req.url ?? '').replace(/^\/api\//, '');
      let args: Record<string, any> = {};
      if ((req.headers['content-type'] ?? '').includes('json')) args = JSON.parse(text || '{}');
      else for (const [k, v] of new URLSearchParams(text)) args[k] = /^[[{]/.test(v) ? JSON.parse(v) : v;
      if (this.#fail > 0) {
        this.#fail--;
        res.writeHead(500).end('fail');
        return;
      }
      this.calls.push({ method, args });
      const ts = method === 'chat.update' ? args.ts : `${++this.#ts}.000100`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, channel: args.channel, ts }));
    });
  }

  async start(): Promise<this> {
    this.url = `http://127.0.0.1:${await listen(this.#server)}/api/`;
    return this;
  }

  failNext(n: number): void {
    this.#fail = n;
  }

  of(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Signs like Slack: `v0=` HMAC-SHA256 over `v0:<timestamp>:<body>` with the signing secret. */
  static sign(secret: string, timestamp: number, raw: string): Record<string, string> {
    return {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${raw}`).digest('hex')}`,
    };
  }

  /** The body and headers of a button press by `user` on a button whose value is `value`. */
  static interaction(secret: string, o: { user: string; value: string; channel: string; comment?: string; timestamp?: number }) {
    const payload = {
      type: 'block_actions',
      user: { id: o.user },
      channel: { id: o.channel },
      actions: [{ action_id: 'cs_approve_0', value: o.value }],
      state: { values: { cs_comment: { comment: { type: 'plain_text_input', value: o.comment ?? null } } } },
    };
    const raw = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    return { raw, headers: FakeSlack.sign(secret, o.timestamp ?? Math.floor(Date.now() / 1000), raw) };
  }

  async close(): Promise<void> {
    await new Promise((r) => this.#server.close(r));
  }
}

/**
 * Telegram's Bot API on loopback: `POST /bot<token>/<method>` with JSON, answering
 * `{ok: true, result}`; records every call. `update` builds an update as Telegram sends it to
 * a webhook, with the `X-Telegram-Bot-Api-Secret-Token` header.
 */
export class FakeTelegram {
  readonly calls: RecordedCall[] = [];
  url = '';
  #server: Server;
  #messageId = 500;

  constructor(readonly token: string) {
    this.#server = createServer(async (req, res) => {
      const text = await body(req);
      const m = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? '');
      if (!m || m[1] !== this.token) {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ ok: false, error_code: 401, description: 'Unauthorized' }));
        return;
      }
      const method = m[2] as string;
      const args = text ? JSON.parse(text) : {};
      this.calls.push({ method, args });
      let result: unknown = true;
      if (method === 'sendMessage')
        result = { message_id: ++this.#messageId, date: 0, chat: { id: Number(args.chat_id), type: 'group' }, text: args.text };
      if (method === 'editMessageText')
        result = { message_id: args.message_id, date: 0, chat: { id: Number(args.chat_id), type: 'group' }, text: args.text };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, result }));
    });
  }

  async start(): Promise<this> {
    this.url = `http://127.0.0.1:${await listen(this.#server)}`;
    return this;
  }

  of(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  static headers(secret: string): Record<string, string> {
    return { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret };
  }

  async close(): Promise<void> {
    await new Promise((r) => this.#server.close(r));
  }
}

/** A small SMTP server (RFC 5321 subset: EHLO, MAIL, RCPT, DATA, QUIT) that keeps what it receives. */
export class FakeSmtp {
  readonly messages: { from: string; to: string[]; data: string }[] = [];
  port = 0;
  #server: NetServer;

  constructor() {
    this.#server = createNetServer((socket) => {
      socket.setEncoding('utf8');
      let from = '';
      let to: string[] = [];
      let inData = false;
      let data = '';
      let buffer = '';
      const reply = (line: string) => socket.write(`${line}\r\n`);
      reply('220 fake-smtp ESMTP ready');
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        for (;;) {
          if (inData) {
            const end = buffer.indexOf('\r\n.\r\n');
            if (end < 0) return;
            data += buffer.slice(0, end);
            buffer = buffer.slice(end + 5);
            inData = false;
            this.messages.push({ from, to, data: data.replace(/^\.\./gm, '.') });
            data = '';
            to = [];
            reply('250 2.0.0 queued');
            continue;
          }
          const nl = buffer.indexOf('\r\n');
          if (nl < 0) return;
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 2);
          const verb = line.slice(0, 4).toUpperCase();
          if (verb === 'EHLO') socket.write('250-fake-smtp\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n');
          else if (verb === 'HELO') reply('250 fake-smtp');
          else if (verb === 'MAIL') {
            from = /<([^>]*)>/.exec(line)?.[1] ?? '';
            reply('250 2.1.0 ok');
          } else if (verb === 'RCPT') {
            to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
            reply('250 2.1.5 ok');
          } else if (verb === 'DATA') {
            inData = true;
            reply('354 end data with <CR><LF>.<CR><LF>');
            buffer = buffer.startsWith('\r\n') ? buffer : buffer;
          } else if (verb === 'RSET') reply('250 ok');
          else if (verb === 'NOOP') reply('250 ok');
          else if (verb === 'QUIT') {
            reply('221 bye');
            socket.end();
            return;
          } else reply('502 5.5.2 command not implemented');
        }
      });
    });
  }

  async start(): Promise<this> {
    this.port = await listen(this.#server);
    return this;
  }

  async close(): Promise<void> {
    await new Promise((r) => this.#server.close(r));
  }
}
