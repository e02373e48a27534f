import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CountersignError, type ErrorCode } from '../errors/index.ts';

/** Where an unexpected error's details go: the server log (stderr for stdio), never the client. */
export type McpErrorLog = (err: unknown, tool: string) => void;

/** What an agent can do about each refusal, so an error is never a dead end. */
const AGENT_HINTS: Partial<Record<ErrorCode, string>> = {
  UNAUTHENTICATED: 'The MCP server has no valid API key: ask the operator for an agent key (COUNTERSIGN_TOKEN).',
  POLICY_DENIED: 'Your principal is not permitted this; ask a Countersign admin. Do not retry.',
  NOT_FOUND: 'Check the id; you only see plans and executions of your own tenant.',
  VALIDATION_FAILED: 'Fix the named field; call list_tools for the tools, actions and their input schemas.',
  UNKNOWN_TOOL: 'Call list_tools for the tools you may use.',
  UNKNOWN_ACTION: 'Call list_tools for the actions of each tool.',
  UNKNOWN_ENVIRONMENT: 'Call list_tools: it lists the environments of your tenant.',
  ARGUMENT_REFUSED: 'Change the input value; call list_tools for the action’s input schema.',
  PATH_OUTSIDE_ROOTS: 'Use a path under the roots the tool allows.',
  CONTEXT_CONFLICT: 'Do not name a tenant: the server takes it from your key.',
  PLAN_HASH_MISMATCH: 'The plan changed since it was reviewed; propose it again.',
  FROZEN: 'A human froze this environment; wait until it is unfrozen. Do not retry until then.',
  RATE_LIMITED: 'Too many requests; wait a minute and retry.',
  SERVER_UNREACHABLE: 'The Countersign server is not reachable; ask the operator to start it or fix COUNTERSIGN_SERVER.',
  POLICY_UNAVAILABLE: 'The policy engine could not decide; retry later.',
  STORE_UNAVAILABLE: 'The server’s database is unavailable; retry later.',
  AUDIT_WRITE_FAILED: 'Nothing happened because the audit entry could not be written; retry later.',
};

export function toolText(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/**
 * A CountersignError becomes a tool error the agent can act on: its message (safe to show by
 * contract), its stable code and a hint. Anything else is an internal error whose details go to
 * the log only (CONVENTIONS: internal errors never cross the wire).
 */
export function toolError(err: unknown, tool: string, log: McpErrorLog): CallToolResult {
  if (err instanceof CountersignError && err.code !== 'INTERNAL') {
    const hint = AGENT_HINTS[err.code];
    return toolText(`${err.message} [${err.code}]${hint ? `\n${hint}` : ''}`);
  }
  log(err, tool);
  return toolText(`${tool} failed with an internal error; details are in the Countersign server log. [INTERNAL]`);
}
