import type { ExecutionView } from '../executions/index.ts';
import type { ExecuteResult, Pipeline } from '../operations/index.ts';
import type { PlanView } from '../plans/index.ts';
import type { Principal } from '../policy/index.ts';
import type { ToolCatalog } from '../tools/index.ts';
import type { McpBackend, McpProposal } from './backend.ts';

/**
 * The in-process adapter (MCP over streamable HTTP, and stdio on the server host): each tool is
 * one operation of the table, run as the principal the request authenticated as, over channel
 * `mcp`. It adds no behaviour of its own.
 */
export class ServiceBackend implements McpBackend {
  constructor(
    private readonly ops: Pipeline,
    private readonly principal: Principal,
  ) {}

  listTools() {
    return this.ops.run<ToolCatalog>('tool.catalog', this.principal, {}, 'mcp');
  }

  proposePlan(proposal: McpProposal) {
    return this.ops.run<PlanView>('plan.propose', this.principal, proposal, 'mcp');
  }

  getPlan(planId: string) {
    return this.ops.run<PlanView>('plan.get', this.principal, { planId }, 'mcp');
  }

  async executePlan(planId: string) {
    return (await this.ops.run<ExecuteResult>('plan.execute', this.principal, { planId }, 'mcp')).execution;
  }

  getExecution(executionId: string) {
    return this.ops.run<ExecutionView>('execution.get', this.principal, { executionId }, 'mcp');
  }
}
