import type { Command } from 'commander';
import { CountersignError } from '../../errors/index.ts';
import type { ExecutionView } from '../../executions/index.ts';
import type { IssuedOverride, OverrideView } from '../../overrides/index.ts';
import { emit, type Io, table } from '../output.ts';
import { clientFrom, type RemoteOptions } from '../remote.ts';
import { remoteOptions } from './plan.ts';

type JsonOptions = RemoteOptions & { json?: boolean };

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `90s`, `15m`, `1h` or plain seconds; at most an hour. */
export function parseTtl(text: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(text.trim());
  if (!m) throw new CountersignError('VALIDATION_FAILED', `--ttl: expected e.g. 15m, 900s or 1h, not "${text}"`);
  const seconds = Number(m[1]) * ({ s: 1, m: 60, h: 3600 } as const)[(m[2] ?? 's') as 's' | 'm' | 'h'];
  if (seconds > 3600) throw new CountersignError('VALIDATION_FAILED', '--ttl: an override lives at most 1h');
  return seconds;
}

function describe(o: OverrideView): string {
  return [
    `Override ${o.id} (${o.status})`,
    `  scope:   ${o.environment}: tools ${o.tools.join(', ')}; actions ${o.actions.join(', ')}`,
    `  reason:  ${o.reason}`,
    `  issued:  ${o.issuedAt} by ${o.issuedBy}; expires ${o.expiresAt}`,
    ...(o.executionId ? [`  used by: execution ${o.executionId} at ${o.consumedAt}`] : []),
    ...(o.revokedAt ? [`  revoked: ${o.revokedAt} by ${o.revokedBy}: ${o.revokeReason}`] : []),
  ].join('\n');
}

export function registerOverride(program: Command, io: Io): void {
  const override = program
    .command('override')
    .description('Break-glass: issue, use, revoke and list overrides (signed, scoped, at most 1h, single use, loudly audited).')
    .addHelpText(
      'after',
      `
An override lets one plan inside its scope run without the normal approvals. Every issue, use
and revoke is audited with details.breakGlass and sent to the configured webhook.

Examples:
  countersign override issue --environment prod --tool kubectl --action rollout-restart --ttl 15m --reason "INC-4211: API down"
  countersign override use pln_01HZX… ovr_01HZY…
  countersign override revoke ovr_01HZY… --reason "incident over"
  countersign override list
`,
    );

  remoteOptions(override.command('issue'))
    .description('Issue an override for one environment, tools and actions (override.issue).')
    .requiredOption('--environment <env>', 'the one environment it covers')
    .requiredOption('--tool <tool>', 'a tool it covers (repeat for several)', collect, [] as string[])
    .requiredOption('--action <action>', 'an action it covers (repeat for several)', collect, [] as string[])
    .requiredOption('--ttl <duration>', 'lifetime, e.g. 15m (at most 1h)')
    .requiredOption('--reason <text>', 'why: mandatory, recorded and sent with every notification')
    .action(async (opts: JsonOptions & { environment: string; tool: string[]; action: string[]; ttl: string; reason: string }) => {
      const issued = await clientFrom(opts).request<IssuedOverride>('POST', '/v1/overrides', {
        scope: { environment: opts.environment, tools: opts.tool, actions: opts.action },
        ttlSeconds: parseTtl(opts.ttl),
        reason: opts.reason,
      });
      emit(io, Boolean(opts.json), issued, () =>
        [
          describe(issued),
          '',
          `Use it:    countersign override use <planId> ${issued.id}`,
          `Revoke it: countersign override revoke ${issued.id} --reason …`,
        ].join('\n'),
      );
    });

  remoteOptions(override.command('use <planId> <override>'))
    .description('Run a plan under an override (its id, or the signed document as JSON) instead of approvals (override.use).')
    .action(async (planId: string, presented: string, opts: JsonOptions) => {
      const e = await clientFrom(opts).request<ExecutionView>('POST', `/v1/plans/${encodeURIComponent(planId)}/executions`, {
        override: presented,
      });
      emit(
        io,
        Boolean(opts.json),
        e,
        () => `Execution ${e.id} of plan ${e.planId} is ${e.status} under override ${e.override ?? presented}.`,
      );
    });

  remoteOptions(override.command('revoke <id>'))
    .description('Revoke an override; an execution running under it stops before its next step (override.revoke).')
    .requiredOption('--reason <text>', 'why: mandatory')
    .action(async (id: string, opts: JsonOptions & { reason: string }) => {
      const o = await clientFrom(opts).request<OverrideView>('POST', `/v1/overrides/${encodeURIComponent(id)}/revoke`, {
        reason: opts.reason,
      });
      emit(io, Boolean(opts.json), o, () => describe(o));
    });

  remoteOptions(override.command('list'))
    .description('List overrides, newest first.')
    .option('--limit <n>', 'how many', '50')
    .action(async (opts: JsonOptions & { limit: string }) => {
      const page = await clientFrom(opts).request<{ overrides: OverrideView[] }>(
        'GET',
        `/v1/overrides?limit=${encodeURIComponent(opts.limit)}`,
      );
      emit(io, Boolean(opts.json), page, () => {
        if (page.overrides.length === 0) return 'No overrides.';
        const rows = [['ID', 'STATUS', 'ENV', 'SCOPE', 'EXPIRES', 'REASON']];
        for (const o of page.overrides)
          rows.push([o.id, o.status, o.environment, `${o.tools.join(',')}: ${o.actions.join(',')}`, o.expiresAt, o.reason]);
        return table(rows);
      });
    });
}
