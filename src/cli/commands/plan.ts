import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { PlanView } from '../../client/index.ts';
import { CountersignError } from '../../errors/index.ts';
import { emit, type Io, table } from '../output.ts';
import { clientFrom, type RemoteOptions } from '../remote.ts';
import { reviewSummary } from './approvals.ts';
import { describeOrigin, fetchOrigin } from './plan-origin.ts';

export function remoteOptions(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'Countersign server (env COUNTERSIGN_SERVER, default http://127.0.0.1:7400)')
    .option('--token <key>', 'API key (env COUNTERSIGN_TOKEN; prefer the env var: flags show in ps)')
    .option('--json', 'machine-readable output');
}

async function readPlanFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (err) {
    throw new CountersignError('BAD_REQUEST', `cannot read ${file === '-' ? 'standard input' : file}: ${(err as Error).message}`);
  }
  try {
    if (file.endsWith('.json') || text.trimStart().startsWith('{')) return JSON.parse(text);
    const { parse: parseYaml } = await import('yaml');
    return parseYaml(text);
  } catch (err) {
    throw new CountersignError('INVALID_JSON', `${file}: not valid JSON or YAML: ${(err as Error).message}`);
  }
}

/** The same full summary reviewers see before they decide. */
export function describePlan(p: PlanView): string {
  return reviewSummary(p);
}

export function registerPlan(program: Command, io: Io): void {
  const plan = program.command('plan').description('Propose, show and list plans on a Countersign server.');

  remoteOptions(plan.command('propose <file>'))
    .description('Propose a plan from a JSON or YAML file ("-" reads standard input).')
    .addHelpText(
      'after',
      `
Plan file:
  intent: Say hello
  environment: dev
  steps:
    - { tool: echo, action: say, input: { message: hello } }

Examples:
  countersign plan propose plan.yaml
  echo '{"intent":"hi","environment":"dev","steps":[{"tool":"echo","action":"say","input":{"message":"hi"}}]}' | countersign plan propose - --json
`,
    )
    .action(async (file: string, opts: RemoteOptions & { json?: boolean }) => {
      const body = await readPlanFile(file);
      if (body === null || typeof body !== 'object' || Array.isArray(body))
        throw new CountersignError('VALIDATION_FAILED', 'the plan file must hold an object');
      const withSource = { source: 'cli', ...(body as Record<string, unknown>) };
      const p = await clientFrom(opts).proposePlan(withSource as never);
      emit(io, Boolean(opts.json), p, () => `Proposed.\n${describePlan(p)}`);
    });

  remoteOptions(plan.command('show <id>'))
    .description('Show one plan: status, risk and why, steps and hash.')
    .action(async (id: string, opts: RemoteOptions & { json?: boolean }) => {
      const client = clientFrom(opts);
      const p = await client.getPlan(id);
      // alerts: a plan from a webhook shows where each of its values came from.
      const origin = p.source === 'webhook' ? await fetchOrigin(client, id).catch(() => null) : null;
      emit(io, Boolean(opts.json), origin ? { ...p, origin } : p, () =>
        origin ? `${describePlan(p)}\n${describeOrigin(origin)}` : describePlan(p),
      );
    });

  remoteOptions(plan.command('wait <id>'))
    .description(
      'Wait until a plan is decided, showing approvals as they arrive. Exit 0 approved, 1 otherwise (rejected, expired, cancelled, or still pending at the timeout).',
    )
    .option('--timeout <seconds>', 'give up after this long', '600')
    .addHelpText('after', '\nExamples:\n  countersign plan wait pln_01… && countersign execute pln_01… --wait\n')
    .action(async (id: string, opts: RemoteOptions & { json?: boolean; timeout: string }) => {
      const client = clientFrom(opts);
      const deadline = Date.now() + Math.max(1, Number(opts.timeout) || 600) * 1000;
      const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
      const live = io.isTty && !opts.json;
      let last = '';
      let tick = 0;
      for (;;) {
        const p = await client.getPlan(id);
        const have = (p.tally?.requirements ?? []).map((r) => `${r.have}/${r.count} ${r.group}`).join(', ');
        const line =
          p.status === 'pending_approval'
            ? `pending: ${have || 'no approvals yet'}${p.tally?.missing.length ? ` — ${p.tally.missing.join('; ')}` : ''}`
            : p.status;
        // previews (issue 17): a previewing plan is not decided yet.
        if ((p.status !== 'pending_approval' && p.status !== 'previewing') || Date.now() > deadline) {
          if (live) io.out(`\r\x1b[2K`);
          emit(io, Boolean(opts.json), p, () => `${p.id}: ${line}${p.statusReason ? ` (${p.statusReason})` : ''}`);
          process.exitCode = p.status === 'approved' ? 0 : 1;
          return;
        }
        if (live) process.stdout.write(`\r\x1b[2K${frames[tick++ % frames.length]} ${p.id} ${line}`);
        else if (line !== last && !opts.json) io.out(`${new Date().toISOString()} ${p.id} ${line}`);
        last = line;
        await new Promise((r) => setTimeout(r, 1000));
      }
    });

  remoteOptions(plan.command('list'))
    .description('List plans, newest first.')
    .option('--status <status>', 'only plans in this status (e.g. pending_approval)')
    .option('--environment <env>', 'only plans in this environment')
    .option('--limit <n>', 'page size (1-200)', '50')
    .option('--cursor <cursor>', 'continue from a previous page')
    .action(async (opts: RemoteOptions & { json?: boolean; status?: string; environment?: string; limit: string; cursor?: string }) => {
      const page = await clientFrom(opts).listPlans({
        status: opts.status,
        environment: opts.environment,
        limit: Number(opts.limit),
        cursor: opts.cursor,
      });
      emit(io, Boolean(opts.json), page, () => {
        if (page.plans.length === 0) return 'No plans.';
        const rows = [['ID', 'STATUS', 'ENV', 'RISK', 'CREATED', 'INTENT']];
        for (const p of page.plans) rows.push([p.id, p.status, p.environment, p.risk, p.createdAt, p.intent.slice(0, 60)]);
        return table(rows) + (page.nextCursor ? `\n\nMore: --cursor ${page.nextCursor}` : '');
      });
    });
}
