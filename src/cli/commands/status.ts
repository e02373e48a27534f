import type { Command } from 'commander';
import { emit, type Io } from '../output.ts';
import { clientFrom, type RemoteOptions } from '../remote.ts';
import { remoteOptions } from './plan.ts';

/** `countersign status`: the server, who you are, what waits for you and what runs, at a glance. */
export function registerStatus(program: Command, io: Io): void {
  remoteOptions(program.command('status'))
    .description('Show the server, your identity, pending approvals and running executions at a glance.')
    .addHelpText('after', '\nExamples:\n  countersign status\n  countersign status --json | jq .inbox\n')
    .action(async (opts: RemoteOptions & { json?: boolean }) => {
      const client = clientFrom(opts);
      // All at once: a glance should cost one round trip, not five in a row. Health and identity
      // must answer (they say whether the server is there and the key works); the rest is best effort.
      const [health, me, inbox, executions, freezes, channels] = await Promise.all([
        client.health(),
        client.whoami(),
        client.inbox({ limit: 200 }).catch(() => ({ plans: [] })),
        client
          .listExecutions(200)
          .then((r) => r.executions)
          .catch(() => []),
        client
          .freezes()
          .then((r) => r.freezes)
          .catch(() => []),
        // Notification channels (issue 14): visible to admins and auditors; others see nothing here.
        client
          .notificationChannels()
          .then((r) => r.channels)
          .catch(() => null),
      ]);
      const failing = (channels ?? []).filter((c) => !c.ok);
      const running = executions.filter((e) => e.status === 'running');
      const queued = executions.filter((e) => e.status === 'queued');
      const summary = {
        server: {
          url: opts.server ?? process.env.COUNTERSIGN_SERVER ?? 'http://127.0.0.1:7400',
          status: health.status,
          version: health.version,
        },
        identity: { id: me.id, name: me.name, kind: me.kind, groups: me.groups, tenant: me.tenantId },
        inbox: inbox.plans.map((p) => ({ id: p.id, environment: p.environment, risk: p.risk, intent: p.intent })),
        running: running.map((e) => ({ id: e.id, plan: e.planId, environment: e.environment })),
        queued: queued.length,
        freezes,
        notifications: channels,
      };
      emit(io, Boolean(opts.json), summary, () =>
        [
          `Server    ${summary.server.url} — ${health.status}, version ${health.version}`,
          `You       ${me.name} (${me.kind}; groups: ${me.groups.join(', ') || 'none'}; tenant ${me.tenantId})`,
          `Inbox     ${inbox.plans.length === 0 ? 'nothing waits for your review' : `${inbox.plans.length} plan(s) wait for your review:`}`,
          ...inbox.plans.slice(0, 10).map((p) => `            ${p.id}  ${p.environment}  ${p.risk}  ${p.intent.slice(0, 50)}`),
          `Running   ${running.length} execution(s)${queued.length ? `, ${queued.length} queued` : ''}`,
          ...running.slice(0, 10).map((e) => `            ${e.id}  plan ${e.planId}  ${e.environment}`),
          `Frozen    ${freezes.length === 0 ? 'nothing' : freezes.map((f) => `${f.scope === '*' ? 'whole tenant' : f.scope} (${f.reason})`).join(', ')}`,
          ...(channels === null
            ? []
            : [
                `Notify    ${channels.length === 0 ? 'no channels configured' : failing.length === 0 ? `${channels.length} channel(s) delivering` : `FAILING: ${failing.map((c) => `${c.channel} (${c.dead} dead, ${c.pending} pending; ${c.lastError ?? ''})`).join(', ')}`}`,
              ]),
        ].join('\n'),
      );
    });
}
