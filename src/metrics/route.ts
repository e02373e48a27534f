import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { judgeScrape, type ScrapeAccess } from './access.ts';
import type { Metrics } from './instruments.ts';

/**
 * `GET /metrics` on the API. Public to the API's key authentication (a scraper holds no API key),
 * guarded by the scrape access instead: loopback or the metrics bearer token, else refused.
 */
export function metricsRoutes(app: FastifyInstance, metrics: Metrics, access: ScrapeAccess): void {
  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    const verdict = judgeScrape(access, request.socket.remoteAddress, request.headers.authorization);
    if (!verdict.ok) {
      return reply
        .status(verdict.status)
        .send({ error: { code: verdict.status === 401 ? 'UNAUTHENTICATED' : 'POLICY_DENIED', message: verdict.reason } });
    }
    const { contentType, body } = await metrics.scrape();
    return reply
      .type(contentType)
      .serializer((s: string) => s)
      .send(body);
  });
}

/** The executor's own `/metrics` listener (it has no HTTP server otherwise), under the same access rule. */
export async function serveMetrics(
  metrics: Metrics,
  access: ScrapeAccess,
  host: string,
  port: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    const verdict = judgeScrape(access, req.socket.remoteAddress, req.headers.authorization);
    if (!verdict.ok) {
      res.writeHead(verdict.status, { 'content-type': 'text/plain' }).end(`${verdict.reason}\n`);
      return;
    }
    metrics.scrape().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as { address: string; port: number };
  const shown = address.address.includes(':') ? `[${address.address}]` : address.address;
  return { url: `http://${shown}:${address.port}/metrics`, close: () => new Promise((r) => server.close(() => r())) };
}
