import { lookup } from 'node:dns/promises';
import { chmod, chown, unlink } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { decideEgress, type EgressDenial, type EgressRule, parseEgressRules, type Resolver } from './egress-policy.ts';

export interface EgressProxyOptions {
  /** The profile's allowlist entries (`host:port`, `*.domain:port`). */
  allowlist: readonly string[];
  /** Host path of the Unix socket; bound into the sandbox, reached through socat inside. */
  socketPath: string;
  /** Every refused destination; the executor audits it. Exceptions in it never allow anything. */
  onDenied: (denial: EgressDenial) => void;
  /** The socket is made connectable by this uid only (bubblewrap's unprivileged host uid). */
  owner?: { uid: number; gid: number } | undefined;
  resolve?: Resolver;
  /** A tool gets this many simultaneous connections through the proxy, no more. */
  maxConnections?: number;
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

const systemResolver: Resolver = (host) => lookup(host, { all: true, verbatim: true });

/** Splits a CONNECT authority (`host:443`, `[::1]:443`) into host and port. */
function splitAuthority(authority: string): { host: string; port: number } | null {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(authority);
  if (!m?.[1] || !m[2]) return null;
  return { host: m[1], port: Number(m[2]) };
}

/**
 * The executor-side half of egress (issue 5, item 2): an HTTP proxy on a Unix socket that allows
 * CONNECT tunnels and absolute-URI HTTP requests only to allowlisted destinations. Nothing else
 * leaves a sandbox: its network namespace has no route, only this socket.
 */
export class EgressProxy {
  readonly #server: Server;
  readonly #rules: EgressRule[];
  readonly #options: EgressProxyOptions;
  readonly #resolve: Resolver;
  readonly #sockets = new Set<Socket>();

  private constructor(options: EgressProxyOptions) {
    this.#options = options;
    this.#rules = parseEgressRules(options.allowlist);
    this.#resolve = options.resolve ?? systemResolver;
    this.#server = createServer({ requestTimeout: 0 }, (req, res) => void this.#onRequest(req, res));
    this.#server.maxConnections = options.maxConnections ?? 64;
    this.#server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => void this.#onConnect(req, socket, head));
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(options: EgressProxyOptions): Promise<EgressProxy> {
    const proxy = new EgressProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(options.socketPath, () => {
        proxy.#server.off('error', reject);
        resolve();
      });
    });
    try {
      if (options.owner) await chown(options.socketPath, options.owner.uid, options.owner.gid);
      await chmod(options.socketPath, 0o600);
    } catch (err) {
      await proxy.close();
      throw err;
    }
    return proxy;
  }

  #deny(host: string, port: number, reason: EgressDenial['reason']): void {
    try {
      this.#options.onDenied({ host, port, reason });
    } catch {
      // The destination stays refused whatever the callback does; its failure is the caller's.
    }
  }

  async #decide(host: string, port: number): Promise<{ address: string } | null> {
    const decision = await decideEgress(host, port, this.#rules, this.#resolve);
    if (decision.allow) return { address: decision.address };
    this.#deny(host, port, decision.reason);
    return null;
  }

  async #onConnect(req: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
    client.on('error', () => client.destroy());
    const target = splitAuthority(req.url ?? '');
    if (target === null) {
      this.#deny(req.url ?? '', 0, 'malformed-target');
      client.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    const allowed = await this.#decide(target.host, target.port);
    if (allowed === null) {
      client.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = connect({ host: allowed.address, port: target.port });
    this.#sockets.add(upstream);
    upstream.once('close', () => this.#sockets.delete(upstream));
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => {
      if (!client.destroyed) client.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      upstream.destroy();
    });
    client.once('close', () => upstream.destroy());
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      this.#deny(req.headers.host ?? '', 0, 'malformed-target');
      res.writeHead(400, { connection: 'close' }).end();
      return;
    }
    // Only plain HTTP is forwarded this way; HTTPS goes through CONNECT.
    if (url.protocol !== 'http:' || url.username !== '' || url.password !== '') {
      this.#deny(url.hostname, Number(url.port || 80), 'malformed-target');
      res.writeHead(400, { connection: 'close' }).end();
      return;
    }
    const port = Number(url.port || 80);
    const allowed = await this.#decide(url.hostname, port);
    if (allowed === null) {
      res.writeHead(403, { connection: 'close', 'content-length': '0' }).end();
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.includes(name)) headers[name] = value;
    }
    headers.host = url.host;
    headers.connection = 'close';
    // Connect to the checked address, not the name: the name is not resolved a second time.
    const upstream = httpRequest({ host: allowed.address, port, method: req.method, path: `${url.pathname}${url.search}`, headers });
    upstream.on('response', (up) => {
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(up.headers)) {
        if (value !== undefined && !HOP_BY_HOP.includes(name)) out[name] = value;
      }
      out.connection = 'close';
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { connection: 'close' });
      res.end();
    });
    req.pipe(upstream);
  }

  /** Stops the proxy and cuts every tunnel: nothing of a step's network outlives the step. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await unlink(this.#options.socketPath).catch(() => undefined);
  }
}
