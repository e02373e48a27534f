import type { ExecutionService } from '../executions/service.ts';
import type { PlanService } from '../plans/service.ts';
import type { Principal } from '../policy/types.ts';
import type { ToolCatalogService } from '../tools/catalog.ts';
import type { McpBackend, McpProposal } from './backend.ts';

export interface McpServices {
  plans: PlanService;
  executions: ExecutionService;
  toolCatalog: ToolCatalogService;
}

/** Streamable HTTP adapter: the services in process, as the principal the request authenticated as. */
export class ServiceBackend implements McpBackend {
  constructor(
    private readonly services: McpServices,
    private readonly principal: Principal,
  ) {}

  listTools() {
    return this.services.toolCatalog.catalog(this.principal);
  }

  proposePlan(proposal: McpProposal) {
    return this.services.plans.propose(this.principal, proposal, 'mcp');
  }

  getPlan(planId: string) {
    return this.services.plans.get(this.principal, planId);
  }

  async executePlan(planId: string) {
    return (await this.services.executions.execute(this.principal, planId, {})).execution;
  }

  getExecution(executionId: string) {
    return this.services.executions.get(this.principal, executionId);
  }
}
