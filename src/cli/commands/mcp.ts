import type { Command } from 'commander';
import { CountersignClient } from '../../client/index.ts';
import type { Io } from '../output.ts';
import { DEFAULT_SERVER, type RemoteOptions } from '../remote.ts';

export function registerMcp(program: Command, io: Io): void {
  program
    .command('mcp')
    .description('Serve the Model Context Protocol over stdio for Claude Code, Cursor or any MCP client, as the agent whose key it holds.')
    .option('--server <url>', 'Countersign server (env COUNTERSIGN_SERVER, default http://127.0.0.1:7400)')
    .option('--token <key>', 'the agent’s API key (env COUNTERSIGN_TOKEN; prefer the env var: flags show in ps)')
    .addHelpText(
      'after',
      `
Talks to a running Countersign server over REST with the agent's own key: it needs no data
directory, and every tool call is authenticated, authorized and audited by the server. Standard
output carries only MCP messages; diagnostics go to standard error.

Tools: list_tools, propose_plan, get_plan, wait_for_decision, execute_plan, get_execution.
There is no approve tool: a human approves with \`countersign approve\`.

Examples:
  COUNTERSIGN_TOKEN=csk_… countersign mcp
  claude mcp add --transport stdio --env COUNTERSIGN_SERVER=http://127.0.0.1:7400 --env COUNTERSIGN_TOKEN=csk_… countersign -- countersign mcp
  npx @modelcontextprotocol/inspector --cli -e COUNTERSIGN_TOKEN=csk_… --method tools/list -- countersign mcp
`,
    )
    .action(async (opts: RemoteOptions) => {
      const client = new CountersignClient({
        server: opts.server ?? process.env.COUNTERSIGN_SERVER ?? DEFAULT_SERVER,
        token: opts.token ?? process.env.COUNTERSIGN_TOKEN,
        clientName: 'mcp',
      });
      const { serveMcpStdio } = await import('../../mcp/index.ts');
      await serveMcpStdio(client, (line) => io.err(line));
    });
}
