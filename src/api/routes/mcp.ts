import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createMcpServer, ServiceBackend } from '../../mcp/index.ts';
import type { Pipeline } from '../../operations/index.ts';
import { principalOf } from '../auth.ts';

const INTERNAL_JSONRPC = { jsonrpc: '2.0', error: { code: -32603, message: 'internal error; see the server log' }, id: null };

/**
 * MCP over streamable HTTP at /mcp, stateless: each POST builds a server bound to the principal
 * the authentication hook resolved from the bearer key, and its tools call the services in
 * process — the same operations as the REST routes, nothing added, nothing skipped. The route is private like every other (no `public` flag).
 */
export function mcpRoutes(app: FastifyInstance, ops: Pipeline): void {
  app.post(
    '/mcp',
    {
      schema: {
        tags: ['mcp'],
        summary:
          'Model Context Protocol (streamable HTTP, stateless): JSON-RPC requests; answers as JSON or a Server-Sent Events stream. Bearer key required.',
      },
      config: { operation: ['tool.catalog', 'plan.propose', 'plan.get', 'plan.execute', 'execution.get'] },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const server = createMcpServer(new ServiceBackend(ops, principal), {
        log: (err, tool) => request.log.error({ err, tool }, 'MCP tool failed'),
      });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      reply.hijack();
      reply.raw.on('close', () => {
        void transport.close();
        void server.close();
      });
      try {
        await server.connect(transport);
        await transport.handleRequest(request.raw, reply.raw, request.body);
      } catch (err) {
        request.log.error({ err }, 'MCP request failed');
        if (reply.raw.headersSent) reply.raw.end();
        else reply.raw.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify(INTERNAL_JSONRPC));
      }
    },
  );
  // Stateless: no server-initiated stream (GET) and no session to end (DELETE); 405 tells clients so.
  const notAllowed = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .status(405)
      .header('allow', 'POST')
      .send({ jsonrpc: '2.0', error: { code: -32000, message: 'method not allowed: POST JSON-RPC messages to /mcp' }, id: null });
  app.get('/mcp', { schema: { tags: ['mcp'], summary: 'Not offered (stateless server): 405.' } }, notAllowed);
  app.delete('/mcp', { schema: { tags: ['mcp'], summary: 'Not offered (stateless server): 405.' } }, notAllowed);
}
