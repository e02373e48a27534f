import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Pipeline } from '../../operations/index.ts';
import { principalOf } from '../auth.ts';
import { problem } from '../errors.ts';
import { errorSchema } from '../schema.ts';

/** The MCP SDK and the tools load with the first /mcp request: most servers never get one. */
const mcpModules = () => Promise.all([import('@modelcontextprotocol/sdk/server/streamableHttp.js'), import('../../mcp/index.ts')]);

const INTERNAL_JSONRPC = { jsonrpc: '2.0', error: { code: -32603, message: 'internal error; see the server log' }, id: null };

/** A JSON-RPC 2.0 message: the MCP SDK answers protocol errors (bad Accept, bad message) this way. */
const JSON_RPC = {
  type: 'object',
  properties: { jsonrpc: { const: '2.0' }, id: { type: ['string', 'integer', 'null'] } },
  required: ['jsonrpc'],
  additionalProperties: true,
} as const;

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
        response: {
          200: {
            description: 'The JSON-RPC response, as JSON or as a Server-Sent Events stream whose data lines are JSON-RPC messages.',
            content: { 'application/json': { schema: JSON_RPC }, 'text/event-stream': { schema: { type: 'string' } } },
          },
          202: { description: 'A notification or response was accepted; no body.', type: 'null' },
          400: {
            description: 'A malformed body: our error shape, or a JSON-RPC error from the MCP transport.',
            anyOf: [errorSchema(400), JSON_RPC],
          },
          406: { description: 'Accept must list application/json and text/event-stream (JSON-RPC error).', ...JSON_RPC },
        },
      },
      config: { operation: ['tool.catalog', 'plan.propose', 'plan.get', 'plan.execute', 'execution.get'] },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const [{ StreamableHTTPServerTransport }, { createMcpServer, ServiceBackend }] = await mcpModules();
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
  // Stateless: no server-initiated stream (GET) and no session to end (DELETE); 405 tells clients so
  // (they read the status only). Not operations of the API, so absent from its reference.
  const notAllowed = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.status(405).header('allow', 'POST').send(problem('METHOD_NOT_ALLOWED', 'POST JSON-RPC messages to /mcp'));
  app.get('/mcp', { schema: { hide: true } }, notAllowed);
  app.delete('/mcp', { schema: { hide: true } }, notAllowed);
}
