import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import type { McpBackend } from './backend.ts';
import { type McpErrorLog, toolError, toolText } from './errors.ts';
import { type Clock, type ProgressReporter, pollUntil } from './poll.ts';
import { executionSummary, planNext, planSummary, TERMINAL_EXECUTION } from './views.ts';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface McpToolOptions {
  log: McpErrorLog;
  /** How often the waiting tools re-read state (default 1 s). */
  pollIntervalMs?: number;
  clock?: Clock;
}

/** The longest a waiting tool blocks, and its default (under the 60 s request timeout many clients use). */
export const MAX_WAIT_SECONDS = 300;
export const DEFAULT_WAIT_SECONDS = 50;

const Id = (what: string) => z.string().min(1).max(64).describe(what);
const WaitSeconds = z
  .number()
  .int()
  .min(1)
  .max(MAX_WAIT_SECONDS)
  .default(DEFAULT_WAIT_SECONDS)
  .describe(
    `How long to block, in seconds (1-${MAX_WAIT_SECONDS}, default ${DEFAULT_WAIT_SECONDS}). Pass a progressToken to get progress notifications while waiting.`,
  );

/**
 * Action inputs are scalars or arrays of scalars (src/tools/manifest.ts); the server checks each
 * against its action's schema. Each branch carries a description so the JSON Schema stays an
 * `anyOf` of single types, which every client dialect reads (a bare union collapses to a type array).
 */
const Scalar = z.union([z.string().describe('text'), z.number().describe('number'), z.boolean().describe('true or false')]);
const InputValue = z.union([...Scalar.options, z.array(Scalar).describe('list of scalar values')]);
const StepInput = z
  .object({
    tool: z.string().min(1).max(64).describe('Tool name, from list_tools'),
    action: z.string().min(1).max(64).describe('Action of that tool, from list_tools'),
    input: z.record(z.string(), InputValue).default({}).describe('Input matching the action’s input schema from list_tools'),
  })
  .strict();

export const McpToolInputs = {
  list_tools: z.object({}).strict(),
  propose_plan: z
    .object({
      intent: z.string().trim().min(1).max(4000).describe('Why: what this plan is for, in a sentence or two reviewers will read'),
      environment: z.string().min(1).max(64).describe('Target environment, e.g. dev, staging, prod (list_tools lists them)'),
      steps: z.array(StepInput).min(1).max(100).describe('Ordered steps; each names a tool action with typed input, never a command line'),
      rollback: z.array(StepInput).max(100).optional().describe('Steps that undo the plan if a step fails'),
    })
    .strict(),
  get_plan: z.object({ planId: Id('Plan id (pln_…)') }).strict(),
  wait_for_decision: z.object({ planId: Id('Plan id (pln_…)'), timeoutSeconds: WaitSeconds }).strict(),
  execute_plan: z.object({ planId: Id('Id of an approved plan (pln_…)') }).strict(),
  get_execution: z
    .object({
      executionId: Id('Execution id (exe_…)'),
      wait: z.boolean().default(false).describe('Block until the execution finishes or timeoutSeconds pass'),
      timeoutSeconds: WaitSeconds,
    })
    .strict(),
} as const;

export type McpToolName = keyof typeof McpToolInputs;

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, openWorldHint: false } as const;

function ok(value: object): CallToolResult {
  // Structured content for clients that use it, the same JSON as text for those that do not.
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: value as Record<string, unknown> };
}

function progressOf(extra: Extra): ProgressReporter | null {
  const token = extra._meta?.progressToken;
  if (token === undefined) return null;
  return async (progress, total, message) => {
    // A client that went away must not fail the wait: the answer still matters to the log.
    await extra
      .sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, total, message } })
      .catch(() => {});
  };
}

/**
 * Registers Countersign's MCP tools on a server. The same definitions serve stdio and
 * streamable HTTP; only the backend differs. There is deliberately no approve or reject tool:
 * a countersignature comes from a human, never through the agent's channel (invariant 5).
 */
export function registerCountersignTools(server: McpServer, backend: McpBackend, options: McpToolOptions): void {
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const clock = options.clock;

  /** Every handler ends here: a result, or a tool error the agent can act on. */
  const guarded =
    <A>(tool: McpToolName, run: (args: A, extra: Extra) => Promise<CallToolResult>) =>
    async (args: A, extra: Extra): Promise<CallToolResult> => {
      try {
        return await run(args, extra);
      } catch (err) {
        return toolError(err, tool, options.log);
      }
    };

  server.registerTool(
    'list_tools',
    {
      title: 'List Countersign tools',
      description:
        'The environments you can target and the tools you may use in a plan: each tool’s actions with their base risk and the JSON Schema of their input. Call this before propose_plan.',
      inputSchema: McpToolInputs.list_tools,
      annotations: READ_ONLY,
    },
    guarded('list_tools', async () => ok(await backend.listTools())),
  );

  server.registerTool(
    'propose_plan',
    {
      title: 'Propose a plan',
      description:
        'Propose privileged work as a plan: an intent, an environment and typed steps (tool, action, input). Countersign authorizes it, computes its risk from the steps, and either auto-approves it (low-risk rules) or holds it for human reviewers. Returns the plan id, status and what approvals it still needs. Proposing runs nothing.',
      inputSchema: McpToolInputs.propose_plan,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    guarded('propose_plan', async (args: z.infer<typeof McpToolInputs.propose_plan>) => ok(planSummary(await backend.proposePlan(args)))),
  );

  server.registerTool(
    'get_plan',
    {
      title: 'Get a plan',
      description:
        'A plan’s status, its steps with the exact command lines they render to, the approvals so far and what is still required, and the next call to make.',
      inputSchema: McpToolInputs.get_plan,
      annotations: READ_ONLY,
    },
    guarded('get_plan', async (args: z.infer<typeof McpToolInputs.get_plan>) => ok(planSummary(await backend.getPlan(args.planId)))),
  );

  server.registerTool(
    'wait_for_decision',
    {
      title: 'Wait for a decision on a plan',
      description: `Block until a pending plan is decided (approved, rejected, expired or cancelled) or timeoutSeconds pass (at most ${MAX_WAIT_SECONDS}). Sends progress notifications with what is still missing when you pass a progressToken. If it returns still pending, call it again.`,
      inputSchema: McpToolInputs.wait_for_decision,
      annotations: READ_ONLY,
    },
    guarded('wait_for_decision', async (args: z.infer<typeof McpToolInputs.wait_for_decision>, extra) => {
      const r = await pollUntil({
        read: () => backend.getPlan(args.planId),
        // previews (issue 17): a previewing plan is not decided either.
        done: (p) => p.status !== 'pending_approval' && p.status !== 'previewing',
        describe: (p) => planSummary(p).missing.join('; ') || p.status,
        timeoutMs: args.timeoutSeconds * 1000,
        intervalMs: pollIntervalMs,
        signal: extra.signal,
        progress: progressOf(extra),
        clock,
      });
      if (r.cancelled) return toolText('wait_for_decision was cancelled');
      return ok({ decided: !r.timedOut, ...planSummary(r.value) });
    }),
  );

  server.registerTool(
    'execute_plan',
    {
      title: 'Execute an approved plan',
      description:
        'Run an approved plan in Countersign’s sandboxed executor, exactly as approved. A plan runs once: calling this again returns the same execution. Returns the execution id; follow it with get_execution (wait: true).',
      inputSchema: McpToolInputs.execute_plan,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    guarded('execute_plan', async (args: z.infer<typeof McpToolInputs.execute_plan>) => {
      try {
        return ok(executionSummary(await backend.executePlan(args.planId)));
      } catch (err) {
        // "not approved" alone is a dead end; say what the plan still needs and what to call.
        if (err instanceof CountersignError && err.code === 'PLAN_INVALID_TRANSITION') {
          const plan = await backend.getPlan(args.planId).catch(() => null);
          if (plan?.status === 'pending_approval') return toolText(`cannot execute yet: ${planNext(plan)} [${err.code}]`);
        }
        throw err;
      }
    }),
  );

  server.registerTool(
    'get_execution',
    {
      title: 'Get an execution',
      description: `An execution’s status and each step’s exit code and redacted output. With wait: true, blocks until it finishes or timeoutSeconds pass (at most ${MAX_WAIT_SECONDS}), with progress notifications when you pass a progressToken.`,
      inputSchema: McpToolInputs.get_execution,
      annotations: READ_ONLY,
    },
    guarded('get_execution', async (args: z.infer<typeof McpToolInputs.get_execution>, extra) => {
      if (!args.wait) return ok(executionSummary(await backend.getExecution(args.executionId)));
      const r = await pollUntil({
        read: () => backend.getExecution(args.executionId),
        done: (e) => TERMINAL_EXECUTION.has(e.status),
        describe: (e) => {
          const main = e.steps.filter((s) => s.phase === 'main');
          return `${e.status}: ${main.filter((s) => s.status === 'succeeded').length}/${main.length} steps done`;
        },
        timeoutMs: args.timeoutSeconds * 1000,
        intervalMs: pollIntervalMs,
        signal: extra.signal,
        progress: progressOf(extra),
        clock,
      });
      if (r.cancelled) return toolText('get_execution was cancelled');
      return ok(executionSummary(r.value));
    }),
  );
}
