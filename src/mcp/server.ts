import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { VERSION } from '../server/index.ts';
import type { McpBackend } from './backend.ts';
import { type McpToolOptions, registerCountersignTools } from './tools.ts';

/** Read by MCP clients (and the model) at initialization: the flow, and what an agent cannot do. */
export const MCP_INSTRUCTIONS = `Countersign governs privileged operations. You propose; humans countersign; a sandboxed executor runs exactly what was approved.
Flow: list_tools → propose_plan → (if pending_approval) wait_for_decision → execute_plan → get_execution with wait: true.
You cannot approve or reject plans: a human reviewer does that in the Countersign CLI or console. Every call acts as your own API key's principal and is authorized and audited by Countersign.`;

/** One MCP server bound to one backend (and so to one principal). Transports are attached by the caller. */
export function createMcpServer(backend: McpBackend, options: McpToolOptions): McpServer {
  const server = new McpServer({ name: 'countersign', version: VERSION }, { capabilities: { tools: {} }, instructions: MCP_INSTRUCTIONS });
  registerCountersignTools(server, backend, options);
  return server;
}
