import type { Command } from 'commander';
import type { ExecutionEvent, ExecutionView } from '../../client/index.ts';
import { CountersignError } from '../../errors/index.ts';
import { defaultDataDir } from '../../server/datadir.ts';
import { emit, type Io, table } from '../output.ts';
import { clientFrom, type RemoteOptions } from '../remote.ts';
import { remoteOptions } from './plan.ts';

/** Exit code by outcome, so `execute --wait` composes in scripts. */
const OUTCOME_EXIT: Record<string, number> = { succeeded: 0, failed: 1, rolled_back: 1, needs_attention: 11 };

function describeExecution(e: ExecutionView): string {
  const lines = [`Execution ${e.id}  plan ${e.planId}  ${e.environment}`, `  status: ${e.status}${e.reason ? ` (${e.reason})` : ''}`];
  for (const s of e.steps) {
    lines.push(
      `  ${s.phase === 'rollback' ? 'rollback ' : ''}step ${s.index + 1} ${s.tool}.${s.action}: ${s.status}${s.exitCode !== null ? ` exit ${s.exitCode}` : ''}${s.error ? ` — ${s.error}` : ''}`,
    );
    for (const [name, text] of [
      ['stdout', s.stdout],
      ['stderr', s.stderr],
    ] as const) {
      if (text)
        lines.push(
          ...text
            .trimEnd()
            .split('\n')
            .map((l) => `      ${name === 'stderr' ? '!' : '|'} ${l}`),
        );
    }
  }
  return lines.join('\n');
}

function printEvent(io: Io, json: boolean, e: ExecutionEvent): void {
  if (json) {
    io.out(JSON.stringify(e));
    return;
  }
  const d = e.data;
  const step = d.index !== undefined ? `${d.phase === 'rollback' ? 'rollback ' : ''}step ${Number(d.index) + 1}` : '';
  switch (e.type) {
    case 'output':
      for (const l of String(d.chunk ?? '')
        .replace(/\n$/, '')
        .split('\n'))
        io.out(`  ${d.stream === 'stderr' ? '!' : '|'} ${l}`);
      break;
    case 'step.started':
      io.out(`▶ ${step} ${d.tool}.${d.action}`);
      break;
    case 'step.finished':
      io.out(`${d.status === 'succeeded' ? '✔' : '✘'} ${step} ${d.status}${d.error ? ` (${d.error})` : ''}`);
      break;
    case 'execution.finished':
      io.out(`■ execution ${d.status}${d.reason ? `: ${d.reason}` : ''}`);
      break;
    default:
      io.out(`· ${e.type}${step ? ` ${step}` : ''}${d.reason ? `: ${d.reason}` : ''}`);
  }
}

async function follow(io: Io, opts: RemoteOptions & { json?: boolean }, id: string): Promise<void> {
  const final = await clientFrom(opts).followEvents(id, (e) => printEvent(io, Boolean(opts.json), e));
  if (opts.json) io.out(JSON.stringify({ execution: final }));
  process.exitCode = OUTCOME_EXIT[final.status] ?? 1;
}

/**
 * Executes, waiting while the server answers WITNESS_PENDING (the plan's approvals are not yet
 * in a checkpoint its witnesses cosigned), with a line of progress, up to --witness-timeout.
 */
async function executeWhenWitnessed(
  io: Io,
  opts: RemoteOptions & { json?: boolean; grant?: string; witnessTimeout: string },
  planId: string,
): Promise<Awaited<ReturnType<ReturnType<typeof clientFrom>['execute']>>> {
  const timeoutMs = Number(opts.witnessTimeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new CountersignError('VALIDATION_FAILED', `--witness-timeout takes seconds, got "${opts.witnessTimeout}"`);
  }
  const until = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      return await clientFrom(opts).execute(planId, opts.grant);
    } catch (err) {
      if (!(err instanceof CountersignError) || err.code !== 'WITNESS_PENDING' || Date.now() >= until) throw err;
      if (!told && !opts.json) io.err('Waiting for the witnesses to cosign the approvals of this plan…');
      told = true;
      const after = Number(err.details?.retryAfterSeconds ?? 2);
      await new Promise((r) => setTimeout(r, Math.min(Math.max(after, 0.2) * 1000, Math.max(until - Date.now(), 0) + 10)));
    }
  }
}

export function registerExecute(program: Command, io: Io): void {
  remoteOptions(program.command('execute <planId>'))
    .description('Run an approved plan (once: repeating returns the same execution). --wait follows the live log.')
    .option('--wait', 'follow the live log and exit with the outcome (0 succeeded, 1 failed/rolled back, 11 needs attention)')
    .option('--grant <token>', 'use a grant minted earlier (POST /v1/plans/:id/grants) instead of minting one now')
    .option(
      '--witness-timeout <seconds>',
      'how long to wait for the witnesses to cosign the approvals of a plan whose grant waits for them (audit.holdGrantsForRisks)',
      '60',
    )
    .addHelpText('after', '\nExamples:\n  countersign execute pln_01… --wait\n  countersign execute pln_01… --json\n')
    .action(async (planId: string, opts: RemoteOptions & { json?: boolean; wait?: boolean; grant?: string; witnessTimeout: string }) => {
      const e = await executeWhenWitnessed(io, opts, planId);
      if (!opts.wait) {
        emit(io, Boolean(opts.json), e, () => `Execution ${e.id} is ${e.status}. Follow it with: countersign logs ${e.id} --follow`);
        return;
      }
      if (!opts.json) io.out(`Execution ${e.id} (${e.status}); following…`);
      await follow(io, opts, e.id);
    });

  remoteOptions(program.command('logs <executionId>'))
    .description('Show an execution’s steps and redacted output; --follow streams it live until it ends.')
    .option('-f, --follow', 'stream live (Server-Sent Events, resumes after a dropped connection)')
    .action(async (id: string, opts: RemoteOptions & { json?: boolean; follow?: boolean }) => {
      if (opts.follow) return follow(io, opts, id);
      const e = await clientFrom(opts).getExecution(id);
      emit(io, Boolean(opts.json), e, () => describeExecution(e));
    });

  remoteOptions(program.command('executions'))
    .description('List recent executions.')
    .option('--limit <n>', 'how many (1-200)', '50')
    .action(async (opts: RemoteOptions & { json?: boolean; limit: string }) => {
      const r = await clientFrom(opts).listExecutions(Number(opts.limit));
      emit(io, Boolean(opts.json), r, () => {
        if (r.executions.length === 0) return 'No executions.';
        const rows = [['ID', 'PLAN', 'ENV', 'STATUS', 'CREATED']];
        for (const e of r.executions) rows.push([e.id, e.planId, e.environment, e.status, e.createdAt]);
        return table(rows);
      });
    });

  const grant = program.command('grant').description('Capability grants of executions.');
  remoteOptions(grant.command('revoke <executionId>'))
    .description('Revoke an execution’s grant: the executor stops before its next step.')
    .requiredOption('--reason <text>', 'why (recorded in the audit log)')
    .action(async (id: string, opts: RemoteOptions & { json?: boolean; reason: string }) => {
      const r = await clientFrom(opts).revokeGrant(id, opts.reason);
      emit(io, Boolean(opts.json), r, () => `Revoked grant ${r.jti} at ${r.revokedAt}.`);
    });

  grant
    .command('rotate-key')
    .description('Start signing grants with a new Ed25519 key. Old public keys stay, so grants already minted verify until they expire.')
    .option('--dir <dir>', 'data directory (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--database-url <url>', 'PostgreSQL URL (env COUNTERSIGN_DATABASE_URL)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nA host-operator command on the data directory (like init): the running API picks the new key up on its next grant; executors re-read public keys when they meet a new key id. Recorded in the audit log.\n',
    )
    .action(async (opts: { dir: string; databaseUrl?: string; json?: boolean }) => {
      const { rotateGrantKey } = await import('../../server/keys.ts');
      const r = await rotateGrantKey(opts.dir, { databaseUrl: opts.databaseUrl });
      emit(io, Boolean(opts.json), r, () => `Grants are now signed with key ${r.kid} (previous: ${r.previous}).`);
    });

  remoteOptions(program.command('freeze'))
    .description('Kill switch: stop all executions in an environment (or the whole tenant) before their next step.')
    .option('--environment <env>', 'one environment; without it, the whole tenant')
    .requiredOption('--reason <text>', 'why (recorded in the audit log)')
    .addHelpText(
      'after',
      '\nExamples:\n  countersign freeze --environment prod --reason "incident 4711"\n  countersign unfreeze --environment prod\n',
    )
    .action(async (opts: RemoteOptions & { json?: boolean; environment?: string; reason: string }) => {
      const r = await clientFrom(opts).freeze({ environment: opts.environment, reason: opts.reason });
      emit(io, Boolean(opts.json), r, () => `Frozen: ${r.scope === '*' ? 'the whole tenant' : r.scope}.`);
    });
  remoteOptions(program.command('unfreeze'))
    .description('Lift a kill switch.')
    .option('--environment <env>', 'one environment; without it, the tenant-wide freeze')
    .action(async (opts: RemoteOptions & { json?: boolean; environment?: string }) => {
      const r = await clientFrom(opts).unfreeze({ environment: opts.environment });
      emit(io, Boolean(opts.json), r, () => `Unfrozen: ${r.scope === '*' ? 'the whole tenant' : r.scope}.`);
    });
  remoteOptions(program.command('freezes'))
    .description('List active kill switches.')
    .action(async (opts: RemoteOptions & { json?: boolean }) => {
      const r = await clientFrom(opts).freezes();
      emit(io, Boolean(opts.json), r, () =>
        r.freezes.length === 0
          ? 'Nothing is frozen.'
          : table([['SCOPE', 'REASON', 'BY', 'SINCE'], ...r.freezes.map((f) => [f.scope, f.reason, f.actor, f.createdAt])]),
      );
    });
}
