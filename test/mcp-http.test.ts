// Issue 6 Must-show over streamable HTTP: /mcp on the API server, authenticated by the same hook
// as every route, tools calling the services in process as the key's principal.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type RunningExecutor, startExecutor } from '../src/executor/executor.ts';
import type { Authorizer, AuthzRequest, Decision } from '../src/policy/types.ts';
import { systemRuntime } from '../src/runtime.ts';
import { provisionTenant } from '../src/server/tenants.ts';
import { ENGINES } from './support/engines.ts';
import { agentFlow, call, callOk, MCP_TOOL_NAMES, storedPlan, textOf } from './support/mcp.ts';
import { addPrincipal } from './support/principals.ts';
import { rawSql } from './support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from './support/server.ts';

async function connectHttp(s: TestServer, key: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${s.url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  const client = new Client({ name: 'countersign-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};
const mcpHeaders = { accept: 'application/json, text/event-stream' };

describe('MCP over streamable HTTP at /mcp', () => {
  let s: TestServer;
  let exe: RunningExecutor;
  let bot: { id: string; key: string };
  let alice: { id: string; key: string };
  let agent: Client;

  before(async () => {
    s = await startTestServer(ENGINES[0]!);
    exe = await startExecutor(s.dir, { store: s.ctx.store, log: () => {} });
    bot = await addPrincipal(s, 'bot', 'agent', ['agent']);
    alice = await addPrincipal(s, 'alice', 'human', ['approvers']);
    agent = await connectHttp(s, bot.key);
  });
  after(async () => {
    await agent?.close();
    await exe?.stop();
    await s?.close();
  });

  test('an agent lists tools, proposes, waits for a human approval given in the CLI, executes and reads the log', async () => {
    const { planId } = await agentFlow(agent, s, alice, 'hello over http');
    const stored = await storedPlan(s, planId);
    assert.equal(stored.proposer, bot.id);
    assert.equal(stored.source, 'mcp', 'plans proposed over /mcp are recorded with source mcp');
  });

  test('/mcp is not public: no key or a bad key gets 401 and an audited refusal', async () => {
    for (const key of [null, 'csk_not_a_key']) {
      const res = await s.request('POST', '/mcp', { key, body: initialize, headers: mcpHeaders });
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'UNAUTHENTICATED');
    }
    const audited = await rawSql(s, "select resource from audit_log where action = 'auth.authenticate' and resource = 'route:POST /mcp'");
    assert.equal(audited.length, 2);
    await assert.rejects(connectHttp(s, 'csk_not_a_key'), /401|Unauthorized|UNAUTHENTICATED/);
  });

  test('GET and DELETE /mcp answer 405 (stateless server), after authentication', async () => {
    assert.equal((await s.request('GET', '/mcp', { key: null, headers: mcpHeaders })).status, 401);
    for (const method of ['GET', 'DELETE']) {
      const res = await s.request(method, '/mcp', { key: bot.key, headers: mcpHeaders });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'POST');
    }
  });

  test('an agent of another tenant finds nothing of this tenant, and cannot name a tenant', async () => {
    const planA = (await s.request('POST', '/v1/plans', { body: echoPlan('tenant A secret') })).body;
    const ranA = (await s.request('POST', `/v1/plans/${planA.id}/executions`, { body: {} })).body;
    const b = await provisionTenant(s.ctx.store, systemRuntime, 'tenant-b');
    const botB = (await s.request('POST', '/v1/principals', { key: b.adminKey, body: { name: 'bot-b', kind: 'agent', groups: ['agent'] } }))
      .body;
    const agentB = await connectHttp(s, botB.key);
    try {
      for (const [tool, args] of [
        ['get_plan', { planId: planA.id }],
        ['wait_for_decision', { planId: planA.id, timeoutSeconds: 1 }],
        ['execute_plan', { planId: planA.id }],
        ['get_execution', { executionId: ranA.id }],
      ] as const) {
        const r = await call(agentB, tool, args);
        assert.equal(r.isError, true, tool);
        assert.match(textOf(r), /not found \[NOT_FOUND\]/, tool);
        assert.doesNotMatch(textOf(r), /tenant A secret/, tool);
      }
      const named = await call(agentB, 'propose_plan', { ...echoPlan('x'), tenant: s.init.tenantId });
      assert.equal(named.isError, true, 'a tenant field is refused');
      const own = await callOk(agentB, 'propose_plan', echoPlan('tenant B work'));
      assert.equal((await s.request('GET', `/v1/plans/${own.id}`)).status, 404, 'B’s plan is in B, not A');
    } finally {
      await agentB.close();
    }
  });
});

class SwitchableAuthorizer implements Authorizer {
  mode: 'allow' | 'deny' = 'allow';
  calls: AuthzRequest['action'][] = [];
  authorize(request: AuthzRequest): Decision {
    this.calls.push(request.action);
    return this.mode === 'allow'
      ? { allow: true, policies: ['test-allow'] }
      : { allow: false, code: 'POLICY_DENIED', reasons: ['mcp chokepoint probe'] };
  }
}

describe('every MCP tool is decided by policy (invariant 2)', () => {
  const authz = new SwitchableAuthorizer();
  let s: TestServer;
  let admin: Client;
  const ids: Record<string, string> = {};

  before(async () => {
    s = await startTestServer(ENGINES[0]!, { authorizer: authz });
    ids.plan = (await s.request('POST', '/v1/plans', { body: echoPlan('pending', 'staging') })).body.id;
    const ran = (await s.request('POST', '/v1/plans', { body: echoPlan('ran', 'dev') })).body.id;
    ids.execution = (await s.request('POST', `/v1/plans/${ran}/executions`, { body: {} })).body.id;
    admin = await connectHttp(s, s.init.adminKey);
    authz.mode = 'deny';
  });
  after(async () => {
    await admin?.close();
    await s?.close();
  });

  /** Every MCP tool with the policy action that must decide it. A new tool must be added here. */
  const TOOLS: Record<string, { action: AuthzRequest['action']; args: () => Record<string, unknown> }> = {
    list_tools: { action: 'plan.propose', args: () => ({}) },
    propose_plan: { action: 'plan.propose', args: () => echoPlan('denied') },
    get_plan: { action: 'plan.read', args: () => ({ planId: ids.plan }) },
    wait_for_decision: { action: 'plan.read', args: () => ({ planId: ids.plan, timeoutSeconds: 1 }) },
    execute_plan: { action: 'plan.execute', args: () => ({ planId: ids.plan }) },
    get_execution: { action: 'execution.read', args: () => ({ executionId: ids.execution, wait: true, timeoutSeconds: 1 }) },
  };

  test('the tool list is exactly the classified list, with no approve or reject tool', async () => {
    const names = (await admin.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(names, Object.keys(TOOLS).sort());
    assert.deepEqual(names, MCP_TOOL_NAMES);
    assert.ok(!names.some((n) => /approv|reject|review/.test(n)));
  });

  test('with a denying policy every tool is refused, decided as its action, and nothing changes', async () => {
    const tables = ['plans', 'approvals', 'executions', 'grants'];
    const snapshot = async () => Promise.all(tables.map(async (t) => JSON.stringify(await rawSql(s, `select * from ${t} order by 1`))));
    const before = await snapshot();
    for (const [tool, spec] of Object.entries(TOOLS)) {
      authz.calls = [];
      const r = await call(admin, tool, spec.args());
      assert.equal(r.isError, true, tool);
      assert.match(textOf(r), /\[POLICY_DENIED\]/, `${tool}: ${textOf(r)}`);
      assert.ok(authz.calls.includes(spec.action), `${tool} must be decided as ${spec.action}, saw ${authz.calls.join(',')}`);
    }
    assert.deepEqual(await snapshot(), before);
  });
});
