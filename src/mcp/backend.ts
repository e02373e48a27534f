import type { ExecutionView } from '../executions/index.ts';
import type { PlanView } from '../plans/index.ts';
import type { ToolCatalog } from '../tools/index.ts';

/** A plan as an agent proposes it over MCP: no tenant, no source (the server decides both). */
export interface McpProposal {
  intent: string;
  environment: string;
  steps: { tool: string; action: string; input: Record<string, unknown> }[];
  rollback?: { tool: string; action: string; input: Record<string, unknown> }[];
}

/**
 * What the MCP tools need from Countersign, as the calling principal. Two adapters implement it
 * and add no behaviour (CONVENTIONS: MCP SDK layering): `RestBackend` calls a running server over
 * REST with the agent's own key (stdio), `ServiceBackend` runs the operations in process as the
 * principal the HTTP request authenticated as. Either way every call is decided by the one
 * pipeline (src/operations), never here.
 */
export interface McpBackend {
  listTools(): Promise<ToolCatalog>;
  proposePlan(proposal: McpProposal): Promise<PlanView>;
  getPlan(planId: string): Promise<PlanView>;
  /** Runs an approved plan, or returns its one existing execution (a plan runs once). */
  executePlan(planId: string): Promise<ExecutionView>;
  getExecution(executionId: string): Promise<ExecutionView>;
}
