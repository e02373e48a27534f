// Issue 6 Must-show: a real MCP client nobody here wrote — the MCP Inspector's command-line mode —
// lists and calls the tools of `countersign mcp` (stdio), with the agent's key in its environment.
// It is the inspector's v1 CLI package (`@modelcontextprotocol/inspector-cli`): the 2.x inspector
// declares Node ≥ 22, and this project runs and tests on Node 20.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLI_ARGS } from './support/cli.ts';
import { ENGINES } from './support/engines.ts';
import { MCP_TOOL_NAMES } from './support/mcp.ts';
import { addPrincipal } from './support/principals.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const INSPECTOR = fileURLToPath(new URL('../node_modules/.bin/mcp-inspector-cli', import.meta.url));
/**
 * inspector-cli 1.0.3 finds its own package.json by testing `../package.json` against the working
 * directory, not its own folder, and fails unless that path exists: run it one level below the
 * repository root, as a user running it from a project subfolder would.
 */
const INSPECTOR_CWD = fileURLToPath(new URL('.', import.meta.url));

/**
 * Runs `mcp-inspector-cli --cli -e … -- node --import tsx src/cli.ts mcp --method …` without
 * blocking this process (it hosts the server). The method options go last: the launcher hands
 * everything to the client in one list, where a variadic `--tool-arg` placed before the server
 * command would swallow it.
 */
function inspect(env: Record<string, string>, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const child = spawn(INSPECTOR, ['--cli', ...envArgs, '--', process.execPath, ...CLI_ARGS, 'mcp', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: INSPECTOR_CWD,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the MCP Inspector CLI against countersign mcp', () => {
  let s: TestServer;
  let env: Record<string, string>;

  before(async () => {
    s = await startTestServer(ENGINES[0]!);
    const bot = await addPrincipal(s, 'bot', 'agent', ['agent']);
    env = { COUNTERSIGN_SERVER: s.url, COUNTERSIGN_TOKEN: bot.key };
  });
  after(async () => s?.close());

  test('lists the tools, with portable input schemas', async () => {
    const r = await inspect(env, ['--method', 'tools/list']);
    assert.equal(r.code, 0, r.stderr);
    const listed = JSON.parse(r.stdout) as { tools: { name: string; inputSchema: { type: string; properties: object } }[] };
    assert.deepEqual(listed.tools.map((t) => t.name).sort(), MCP_TOOL_NAMES);
    assert.doesNotMatch(r.stderr, /Error/i);
    // What clients that map tool schemas onto a narrower dialect reject: a root that is not an
    // object, references they cannot follow, and a `type` that is a list.
    for (const t of listed.tools) {
      assert.equal(t.inputSchema.type, 'object', t.name);
      const text = JSON.stringify(t.inputSchema);
      assert.doesNotMatch(text, /"\$ref"/, `${t.name} uses $ref`);
      assert.doesNotMatch(text, /"type":\[/, `${t.name} has a list-valued type`);
    }
  });

  test('calls propose_plan and get_plan as the agent', async () => {
    const proposed = await inspect(env, [
      '--method',
      'tools/call',
      '--tool-name',
      'propose_plan',
      '--tool-arg',
      'intent=Say hello from the inspector',
      'environment=staging',
      `steps=${JSON.stringify([{ tool: 'echo', action: 'say', input: { message: 'hi' } }])}`,
    ]);
    assert.equal(proposed.code, 0, proposed.stdout + proposed.stderr);
    const plan = JSON.parse(proposed.stdout).structuredContent;
    assert.equal(plan.status, 'pending_approval');
    const got = await inspect(env, ['--method', 'tools/call', '--tool-name', 'get_plan', '--tool-arg', `planId=${plan.id}`]);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(JSON.parse(got.stdout).structuredContent.missing, ['needs 1 more approval from group approvers']);
  });

  test('has no tool to approve with', async () => {
    const r = await inspect(env, ['--method', 'tools/call', '--tool-name', 'approve_plan', '--tool-arg', 'planId=pln_x']);
    // The server refuses the call as a protocol error (-32602); this client prints it as an error result.
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { isError?: boolean; content: { text: string }[] };
    assert.equal(result.isError, true);
    assert.match(result.content[0]!.text, /-32602: Tool approve_plan not found/);
  });
});
