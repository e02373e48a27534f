import type { Command } from 'commander';
import { emit, type Io, table } from '../output.ts';
import { clientFrom, type RemoteOptions } from '../remote.ts';
import { remoteOptions } from './plan.ts';
import { describeNewKey } from './principal.ts';

type JsonOptions = RemoteOptions & { json?: boolean };

export function registerKey(program: Command, io: Io): void {
  const key = program
    .command('key')
    .description('Create, list and revoke API keys of principals (admin). Keys are stored hashed and shown once.')
    .addHelpText(
      'after',
      `
Examples:
  countersign key create --principal prn_01HZX… --description "laptop"
  countersign key list --principal prn_01HZX…
  countersign key revoke key_01HZY…
`,
    );

  remoteOptions(key.command('create'))
    .description('Create another API key for a principal (to rotate: create, switch, then revoke the old one).')
    .requiredOption('--principal <name-or-id>', 'the principal the key authenticates as (its name or prn_… id)')
    .option('--description <text>', 'what the key is for, shown in key list')
    .addHelpText(
      'after',
      `
Examples:
  countersign key create --principal prn_01HZX… --description "CI runner"
  countersign key create --principal prn_01HZX… --json | jq -r .key
`,
    )
    .action(async (opts: JsonOptions & { principal: string; description?: string }) => {
      const created = await clientFrom(opts).createKey(
        opts.principal,
        opts.description === undefined ? {} : { description: opts.description },
      );
      emit(io, Boolean(opts.json), created, () => describeNewKey(created.key, created.id, created.principal));
    });

  remoteOptions(key.command('list'))
    .description("List a principal's keys: ids, descriptions, last use and revocation (never the secrets).")
    .requiredOption('--principal <name-or-id>', 'whose keys (a name or prn_… id)')
    .addHelpText(
      'after',
      '\nExamples:\n  countersign key list --principal prn_01HZX…\n  countersign key list --principal prn_01HZX… --json\n',
    )
    .action(async (opts: JsonOptions & { principal: string }) => {
      const page = await clientFrom(opts).listKeys(opts.principal);
      emit(io, Boolean(opts.json), page, () => {
        if (page.keys.length === 0) return `No keys for ${opts.principal}.`;
        const rows = [['ID', 'STATUS', 'CREATED', 'LAST USED', 'DESCRIPTION']];
        for (const k of page.keys)
          rows.push([k.id, k.revokedAt ? `revoked ${k.revokedAt}` : 'active', k.createdAt, k.lastUsedAt ?? 'never', k.description || '-']);
        return table(rows);
      });
    });

  remoteOptions(key.command('revoke <keyId>'))
    .description('Revoke an API key; it stops working immediately and cannot be restored.')
    .addHelpText('after', '\nExamples:\n  countersign key revoke key_01HZY…\n')
    .action(async (keyId: string, opts: JsonOptions) => {
      const k = await clientFrom(opts).revokeKey(keyId);
      emit(io, Boolean(opts.json), k, () => `Revoked key ${k.id} of ${k.principal} at ${k.revokedAt ?? 'now'}.`);
    });
}
