import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CountersignClient } from '../client/index.ts';
import { RestBackend } from './rest-backend.ts';
import { createMcpServer } from './server.ts';

/**
 * Serves MCP over stdin/stdout until stdin closes. Standard output carries only the protocol;
 * diagnostics go to stderr. The process needs no data directory: every call is a REST request
 * to the server, authenticated with the agent's key and authorized there.
 */
export async function serveMcpStdio(client: CountersignClient, logErr: (line: string) => void): Promise<void> {
  const server = createMcpServer(new RestBackend(client), {
    log: (err, tool) => logErr(`countersign mcp: ${tool} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
  });
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
    process.stdin.once('end', () => {
      void server.close().finally(resolve);
    });
  });
  await server.connect(new StdioServerTransport());
  await closed;
}
