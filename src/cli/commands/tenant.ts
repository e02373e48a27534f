import type { Command } from 'commander';
import { CountersignError } from '../../errors/index.ts';
import { defaultDataDir } from '../../server/datadir.ts';
import { emit, type Io, table } from '../output.ts';
import { describeNewKey } from './principal.ts';

interface HostOptions {
  dir: string;
  databaseUrl?: string;
  json?: boolean;
}

/** `--environments dev,prod` → the names, each checked by the operation's schema. */
function environmentList(value: string): string[] {
  const names = value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  if (names.length === 0) throw new CountersignError('VALIDATION_FAILED', '--environments needs at least one name, e.g. dev,prod');
  return names;
}

function hostCommand(cmd: Command): Command {
  return cmd
    .option('--dir <dir>', 'data directory (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--database-url <url>', 'PostgreSQL URL (env COUNTERSIGN_DATABASE_URL); only the store the directory is bound to')
    .option('--json', 'machine-readable output');
}

export function registerTenant(program: Command, io: Io): void {
  const tenant = program
    .command('tenant')
    .description('Host operator: provision and list tenants on the data directory (local, audited).')
    .addHelpText(
      'after',
      `
A tenant is an isolated set of principals, plans, environments and audit entries; nothing of one
tenant is visible to another. These commands run on the server host with the data directory (and
so its keys and policies), not over the API, as the host's system principal.

Examples:
  countersign tenant add acme --environments dev,prod
  countersign tenant list
`,
    );

  hostCommand(tenant.command('add'))
    .argument('<name>', "the new tenant's name (unique in the installation)")
    .description("Create a tenant with its environments and an admin principal; prints the admin's API key once.")
    .option('--environments <names>', 'comma-separated environment names', 'dev,staging,prod')
    .addHelpText(
      'after',
      `
The tenant, its environments, its admin principal (group admin) and the admin's key are made in
one transaction with the audit entry tenant.create, decided by the data directory's policies:
all of it exists afterwards, or none of it. The key is printed once and stored only hashed: hand
it to the tenant's administrator through your secret manager. A name already taken is refused.
Works on SQLite and PostgreSQL; the API replicas see the new tenant at once.

Examples:
  countersign tenant add acme
  countersign tenant add acme --environments dev,prod --dir /var/lib/countersign
  countersign tenant add acme --json | jq -r .adminKey
`,
    )
    .action(async (name: string, opts: HostOptions & { environments: string }) => {
      const { addTenant } = await import('../../server/index.ts');
      const r = await addTenant(opts.dir, name, environmentList(opts.environments), { databaseUrl: opts.databaseUrl });
      emit(io, Boolean(opts.json), r, () =>
        [
          `Created tenant ${r.name} (${r.tenantId}) with environments ${r.environments.join(', ')}.`,
          '',
          describeNewKey(r.adminKey, r.adminPrincipalId, `the admin of ${r.name}`),
        ].join('\n'),
      );
    });

  hostCommand(tenant.command('list'))
    .description('List the tenants of the installation with their environments (read-only).')
    .addHelpText('after', "\nExamples:\n  countersign tenant list\n  countersign tenant list --json | jq -r '.tenants[].name'\n")
    .action(async (opts: HostOptions) => {
      const { listTenants } = await import('../../server/index.ts');
      const r = await listTenants(opts.dir, { databaseUrl: opts.databaseUrl });
      emit(io, Boolean(opts.json), r, () => {
        const rows = [['NAME', 'ID', 'CREATED', 'ENVIRONMENTS']];
        for (const t of r.tenants)
          rows.push([t.name, t.id, t.createdAt, t.environments.map((e) => (e.frozen ? `${e.name} (frozen)` : e.name)).join(', ') || '-']);
        return table(rows);
      });
    });
}
