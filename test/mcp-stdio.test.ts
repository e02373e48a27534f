// Issue 6 Must-show over stdio: the SDK's own client spawns `countersign mcp`, which talks to a
// running server over REST with the agent's key, and a human approves through the real CLI.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { type RunningExecutor, startExecutor } from '../src/executor/executor.ts';
import { CLI_ARGS } from './support/cli.ts';
import { ENGINES } from './support/engines.ts';
import { agentFlow, call, callOk, storedPlan, textOf } from './support/mcp.ts';
import { addPrincipal } from './support/principals.ts';
import { startTestServer, type TestServer } from './support/server.ts';

async function connectStdio(env: Record<string, string>): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...CLI_ARGS, 'mcp'],
    // Only what the server needs: no data directory, no database, just a URL and a key.
    env: { PATH: process.env.PATH ?? '', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  const client = new Client({ name: 'countersign-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

describe('countersign mcp (stdio)', () => {
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
    agent = (await connectStdio({ COUNTERSIGN_SERVER: s.url, COUNTERSIGN_TOKEN: bot.key })).client;
  });
  after(async () => {
    await agent?.close();
    await exe?.stop();
    await s?.close();
  });

  test('an agent lists tools, proposes, waits for a human approval given in the CLI, executes and reads the log', async () => {
    const instructions = agent.getInstructions() ?? '';
    assert.match(instructions, /cannot approve/);
    const { planId } = await agentFlow(agent, s, alice, 'hello over stdio');
    const stored = await storedPlan(s, planId);
    assert.equal(stored.proposer, bot.id, 'the plan is proposed as the agent whose key the stdio server holds');
  });

  test('the agent key itself cannot approve: the API refuses it', async () => {
    const plan = await callOk(agent, 'propose_plan', {
      intent: 'try to approve my own work',
      environment: 'staging',
      steps: [{ tool: 'echo', action: 'say', input: { message: 'self' } }],
    });
    const res = await s.request('POST', `/v1/plans/${plan.id}/approvals`, {
      key: bot.key,
      body: { decision: 'approve', planHash: plan.hash },
    });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.match(res.body.error.code, /POLICY_DENIED|SELF_APPROVAL/);
    assert.equal((await callOk(agent, 'get_plan', { planId: plan.id })).status, 'pending_approval');
  });

  test('refusals come back as tool errors an agent can act on', async () => {
    const unknownTool = await call(agent, 'propose_plan', {
      intent: 'x',
      environment: 'staging',
      steps: [{ tool: 'rm', action: 'rf', input: {} }],
    });
    assert.equal(unknownTool.isError, true);
    assert.match(textOf(unknownTool), /\[UNKNOWN_TOOL\]\nCall list_tools/);
    const missing = await call(agent, 'get_plan', { planId: 'pln_doesnotexist' });
    assert.equal(missing.isError, true);
    assert.match(textOf(missing), /not found \[NOT_FOUND\]/);
    const tenant = await call(agent, 'propose_plan', {
      intent: 'x',
      environment: 'staging',
      tenant: 'other',
      steps: [{ tool: 'echo', action: 'say', input: { message: 'x' } }],
    });
    assert.equal(tenant.isError, true, 'an unknown field such as tenant is refused, not ignored');
  });

  test('without a valid key every tool call is refused as unauthenticated', async () => {
    const { client, stderr } = await connectStdio({ COUNTERSIGN_SERVER: s.url, COUNTERSIGN_TOKEN: 'csk_not_a_key' });
    try {
      const r = await call(client, 'list_tools');
      assert.equal(r.isError, true);
      assert.match(textOf(r), /\[UNAUTHENTICATED\]/);
      assert.doesNotMatch(stderr(), /csk_not_a_key/);
    } finally {
      await client.close();
    }
  });
});
