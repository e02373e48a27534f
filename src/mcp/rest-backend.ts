import type { CountersignClient } from '../client/index.ts';
import type { McpBackend, McpProposal } from './backend.ts';

/** stdio adapter: the REST API of a running server, authenticated with the agent's own key. */
export class RestBackend implements McpBackend {
  constructor(private readonly client: CountersignClient) {}

  listTools() {
    return this.client.listTools();
  }

  proposePlan(proposal: McpProposal) {
    return this.client.proposePlan(proposal);
  }

  getPlan(planId: string) {
    return this.client.getPlan(planId);
  }

  executePlan(planId: string) {
    return this.client.execute(planId);
  }

  getExecution(executionId: string) {
    return this.client.getExecution(executionId);
  }
}
