import { request as httpRequest, type IncomingMessage } from 'node:http';

/** What the client needs of an HTTP answer: global `fetch`'s Response has this shape too. */
export interface TransportResponse {
  ok: boolean;
  status: number;
  text(): Promise<string>;
  /** The body as chunks (an async iterable of bytes), for event streams. */
  body: unknown;
}

export interface TransportInit {
  method?: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** How the client sends a request: `fetch` fits; the default is `nodeTransport`. */
export type Transport = (url: string, init: TransportInit) => Promise<TransportResponse>;

/**
 * The client's default transport, on node:http and node:https. Node 20 loads its `fetch`
 * implementation on first use, which costs more than a one-shot CLI command's whole request
 * here (~60 ms of a ~200 ms `countersign status`); node:http is already loaded with Node.
 */
export const nodeTransport: Transport = async (url, init) => {
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new Error(`unsupported URL scheme ${target.protocol} (use http: or https:)`);
  }
  // node:https loads TLS and its crypto, which a loopback http: server never needs.
  const send = target.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    const req = send(target, { method: init.method ?? 'GET', headers, signal: init.signal }, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      let consumed = false;
      resolve({
        ok: status >= 200 && status < 300,
        status,
        body: res,
        text: async () => {
          if (consumed) throw new Error('the body was already read');
          consumed = true;
          const chunks: Buffer[] = [];
          for await (const chunk of res) chunks.push(chunk as Buffer);
          return Buffer.concat(chunks).toString('utf8');
        },
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
};
