export type { McpBackend, McpProposal } from './backend.ts';
export { type McpErrorLog, toolError } from './errors.ts';
export { type Clock, systemClock } from './poll.ts';
export { RestBackend } from './rest-backend.ts';
export { createMcpServer, MCP_INSTRUCTIONS } from './server.ts';
export { ServiceBackend } from './service-backend.ts';
export { serveMcpStdio } from './stdio.ts';
export { DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS, McpToolInputs, type McpToolName, type McpToolOptions } from './tools.ts';
export { type ExecutionSummary, executionSummary, type PlanSummary, planSummary } from './views.ts';
