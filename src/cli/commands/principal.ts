import type { Command } from 'commander';
import type { PrincipalView } from '../../client/index.ts';
import { CountersignError } from '../../errors/index.ts';
import { defaultDataDir } from '../../server/datadir.ts';
import { emit, type Io, table } from '../output.ts';
import { clientFrom, type RemoteOptions } from '../remote.ts';
import { remoteOptions } from './plan.ts';

type JsonOptions = RemoteOptions & { json?: boolean };

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** The one time a secret is printed: the warning travels with it. */
export function describeNewKey(key: string, keyId: string, owner: string): string {
  return [
    `API key ${keyId} for ${owner} (shown once — store it in your secret manager now; it cannot be shown again):`,
    '',
    `  ${key}`,
    '',
    'If it is lost, create another with `countersign key create` and revoke this one with `countersign key revoke`.',
  ].join('\n');
}

function describePrincipal(p: PrincipalView): string {
  return `${p.id}  ${p.name} (${p.kind})  groups: ${p.groups.length > 0 ? p.groups.join(', ') : '(none)'}${p.disabled ? '  DISABLED' : ''}`;
}

export function registerPrincipal(program: Command, io: Io): void {
  const principal = program
    .command('principal')
    .description('Manage the humans and agents of your tenant (admin).')
    .addHelpText(
      'after',
      `
Groups are roles in the baseline policy: admin, operator, approvers, agent, auditor.
Agents can propose and execute but never review, whatever their groups.

Examples:
  countersign principal add alice --kind human --group approvers
  countersign principal add deploy-bot --kind agent --group agent
  countersign principal list
  countersign principal disable prn_01HZX…
`,
    );

  remoteOptions(principal.command('add <name>'))
    .description('Create a principal and its first API key (the key is shown once).')
    .requiredOption('--kind <kind>', 'human or agent')
    .option('--group <group>', 'a group to join (repeat for several)', collect, [] as string[])
    .option('--description <text>', 'what the first key is for')
    .addHelpText(
      'after',
      `
Examples:
  countersign principal add alice --kind human --group approvers --group operator
  countersign principal add deploy-bot --kind agent --group agent --description "CI deploys"
  countersign principal add ci-bot --kind agent --group agent --json | jq -r .key
`,
    )
    .action(async (name: string, opts: JsonOptions & { kind: string; group: string[]; description?: string }) => {
      if (opts.kind !== 'human' && opts.kind !== 'agent') {
        throw new CountersignError('VALIDATION_FAILED', `--kind must be human or agent, not "${opts.kind}"`);
      }
      const created = await clientFrom(opts).createPrincipal({
        name,
        kind: opts.kind,
        groups: opts.group,
        ...(opts.description === undefined ? {} : { description: opts.description }),
      });
      emit(io, Boolean(opts.json), created, () =>
        [`Created ${describePrincipal(created)}`, '', describeNewKey(created.key, created.keyId, created.name)].join('\n'),
      );
    });

  remoteOptions(principal.command('list'))
    .description('List the principals of your tenant.')
    .addHelpText('after', '\nExamples:\n  countersign principal list\n  countersign principal list --json\n')
    .action(async (opts: JsonOptions) => {
      const page = await clientFrom(opts).listPrincipals();
      emit(io, Boolean(opts.json), page, () => {
        if (page.principals.length === 0) return 'No principals.';
        const rows = [['ID', 'NAME', 'KIND', 'STATUS', 'CREATED', 'GROUPS']];
        for (const p of page.principals)
          rows.push([p.id, p.name, p.kind, p.disabled ? 'disabled' : 'active', p.createdAt, p.groups.join(',') || '-']);
        return table(rows);
      });
    });

  remoteOptions(principal.command('disable <principal>'))
    .description('Disable a principal: every one of its keys stops working until it is enabled again.')
    .addHelpText('after', '\nExamples:\n  countersign principal disable alice\n  countersign principal disable prn_01HZX…\n')
    .action(async (id: string, opts: JsonOptions) => {
      const p = await clientFrom(opts).disablePrincipal(id);
      emit(io, Boolean(opts.json), p, () => `Disabled ${describePrincipal(p)}\nUndo with: countersign principal enable ${p.id}`);
    });

  remoteOptions(principal.command('enable <principal>'))
    .description('Enable a disabled principal; its keys that are not revoked work again.')
    .addHelpText('after', '\nExamples:\n  countersign principal enable alice\n')
    .action(async (id: string, opts: JsonOptions) => {
      const p = await clientFrom(opts).enablePrincipal(id);
      emit(io, Boolean(opts.json), p, () => `Enabled ${describePrincipal(p)}`);
    });

  principal
    .command('recover-admin')
    .description("Host operator: give the tenant's admin principal a new API key, revoke its old ones and enable it (local, audited).")
    .option('--dir <dir>', 'data directory (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--database-url <url>', 'PostgreSQL URL (env COUNTERSIGN_DATABASE_URL); only the store the directory is bound to')
    .option('--tenant <name>', 'tenant by name', 'default')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
For whoever runs the host: it needs the data directory (and so its keys), not an API key. Every
other key of the admin principal stops working at once; the new key is printed once. Audited as
the host operation principal.recover-admin, naming operator:local:<your user>.

Examples:
  countersign principal recover-admin --dir /var/lib/countersign
  countersign principal recover-admin --tenant acme --json | jq -r .key
`,
    )
    .action(async (opts: { dir: string; databaseUrl?: string; tenant: string; json?: boolean }) => {
      const { recoverAdmin } = await import('../../server/index.ts');
      const r = await recoverAdmin(opts.dir, { databaseUrl: opts.databaseUrl, tenant: opts.tenant });
      emit(io, Boolean(opts.json), r, () =>
        [
          `Recovered the admin of tenant ${r.tenant}: ${r.revokedKeyIds.length} old key(s) revoked${r.reenabled ? ', principal enabled again' : ''}.`,
          '',
          describeNewKey(r.key, r.keyId, 'admin'),
        ].join('\n'),
      );
    });
}
