import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { runCli } from './cli.ts';
import type { TestServer } from './server.ts';

export const MCP_TOOL_NAMES = ['execute_plan', 'get_execution', 'get_plan', 'list_tools', 'propose_plan', 'wait_for_decision'];

/** Calls a tool and returns its result, typed as what the SDK client answers for tools/call. */
export async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

export function textOf(r: CallToolResult): string {
  return r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** Calls a tool that must succeed; returns its structured content (and checks the text twin). */
export async function callOk(client: Client, name: string, args: Record<string, unknown> = {}): Promise<any> {
  const r = await call(client, name, args);
  assert.ok(!r.isError, `${name} failed: ${textOf(r)}`);
  assert.deepEqual(JSON.parse(textOf(r)), r.structuredContent, `${name}: text and structured content agree`);
  return r.structuredContent;
}

/**
 * The Must-show flow through any transport: list tools, propose a staging plan as the agent, see
 * what it still needs, fail to run it early and fail to approve it, wait (with progress) while a
 * human approves through the real CLI, execute, and read the redacted log.
 */
export async function agentFlow(client: Client, s: TestServer, human: { id: string; key: string }, message: string) {
  const listed = await client.listTools();
  assert.deepEqual(listed.tools.map((t) => t.name).sort(), MCP_TOOL_NAMES);
  const propose = listed.tools.find((t) => t.name === 'propose_plan');
  assert.deepEqual(propose?.inputSchema.required?.sort(), ['environment', 'intent', 'steps']);

  const catalog = await callOk(client, 'list_tools');
  assert.ok(catalog.environments.includes('staging'));
  const echo = catalog.tools.find((t: { name: string }) => t.name === 'echo');
  const say = echo.actions.find((a: { name: string }) => a.name === 'say');
  assert.deepEqual(say.input.required, ['message']);
  assert.equal(say.input.properties.message.type, 'string');

  const proposed = await callOk(client, 'propose_plan', {
    intent: 'Say hello from the agent',
    environment: 'staging',
    steps: [{ tool: 'echo', action: 'say', input: { message } }],
  });
  assert.equal(proposed.status, 'pending_approval');
  const planId: string = proposed.id;

  const pending = await callOk(client, 'get_plan', { planId });
  assert.equal(pending.status, 'pending_approval');
  assert.deepEqual(pending.approvals, []);
  assert.deepEqual(pending.required, [{ group: 'approvers', count: 1, have: 0 }]);
  assert.deepEqual(pending.missing, ['needs 1 more approval from group approvers']);
  assert.deepEqual(pending.steps[0].argv, ['/bin/echo', message]);
  assert.match(pending.next, /wait_for_decision/);

  // Running it early is refused with what is missing and what to call.
  const early = await call(client, 'execute_plan', { planId });
  assert.equal(early.isError, true);
  assert.match(textOf(early), new RegExp(`plan ${planId} needs 1 more approval from group approvers.*wait_for_decision`));

  // There is no way to approve through MCP.
  for (const name of ['approve_plan', 'approve', 'review_plan']) {
    const r = await call(client, name, { planId, planHash: pending.hash });
    assert.equal(r.isError, true, name);
    assert.match(textOf(r), /not found/);
  }

  // Block in wait_for_decision (reporting progress) while a human approves through the CLI.
  const progress: Progress[] = [];
  const waiting = client.callTool({ name: 'wait_for_decision', arguments: { planId, timeoutSeconds: 60 } }, undefined, {
    onprogress: (p) => progress.push(p),
    resetTimeoutOnProgress: true,
  }) as Promise<CallToolResult>;
  for (let i = 0; i < 200 && progress.length === 0; i++) await sleep(50);
  assert.ok(progress.length > 0, 'wait_for_decision reports progress while pending');
  assert.match(progress[0]?.message ?? '', /needs 1 more approval from group approvers/);
  const approved = await runCli(['approve', planId, '--yes'], { env: { COUNTERSIGN_SERVER: s.url, COUNTERSIGN_TOKEN: human.key } });
  assert.equal(approved.code, 0, approved.stdout + approved.stderr);
  const decided = await waiting;
  assert.ok(!decided.isError, textOf(decided));
  const decision = decided.structuredContent as any;
  assert.equal(decision.decided, true);
  assert.equal(decision.status, 'approved');
  assert.deepEqual(
    decision.approvals.map((a: { reviewer: string; decision: string }) => [a.reviewer, a.decision]),
    [[human.id, 'approve']],
  );
  assert.deepEqual(decision.missing, []);

  const execution = await callOk(client, 'execute_plan', { planId });
  assert.match(execution.id, /^exe_/);
  const again = await callOk(client, 'execute_plan', { planId });
  assert.equal(again.id, execution.id, 'a plan runs once');

  const done = await callOk(client, 'get_execution', { executionId: execution.id, wait: true, timeoutSeconds: 60 });
  assert.equal(done.status, 'succeeded', JSON.stringify(done));
  assert.equal(done.finished, true);
  assert.equal(done.steps[0].stdout, `${message}\n`);
  return { planId, executionId: execution.id as string };
}

/** The plan's source and proposer as stored, read over the API as the admin. */
export async function storedPlan(s: TestServer, planId: string): Promise<{ source: string; proposer: string }> {
  const res = await s.request('GET', `/v1/plans/${planId}`);
  assert.equal(res.status, 200);
  return res.body;
}
