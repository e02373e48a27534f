import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CountersignError } from '../../errors/index.ts';
import type { TrustedKeyView, TrustListView } from '../../trust/index.ts';
import { emit, type Io, table } from '../output.ts';
import { clientFrom, type RemoteOptions } from '../remote.ts';
import { remoteOptions } from './plan.ts';

type JsonOptions = RemoteOptions & { json?: boolean };

export function registerTrust(program: Command, io: Io): void {
  const trust = program
    .command('trust')
    .description("Manage the installation's trusted tool publisher keys on the server (trust.change; audited).")
    .addHelpText(
      'after',
      `
The trust store is installation-wide; only principals of the tenant named by config
trust.adminTenant may change it. Removing a key takes effect at once: its signatures stop
counting at the next propose, execute request and executor step. A newly trusted key makes
newly verifiable manifests loadable at the next SIGHUP (or start) of the API and executors.

Examples:
  countersign trust add --key publisher-1a2b….pub --name "platform team"
  countersign trust list
  countersign trust remove 1a2b3c4d5e6f7a8b --reason "key retired"
`,
    );

  remoteOptions(trust.command('add'))
    .description('Trust a publisher public key (the .pub file `tool keygen` wrote).')
    .requiredOption('--key <file>', 'the publisher PUBLIC key file (SPKI PEM)')
    .option('--name <label>', 'who publishes with this key')
    .action(async (opts: JsonOptions & { key: string; name?: string }) => {
      let publicKey: string;
      try {
        publicKey = readFileSync(opts.key, 'utf8');
      } catch (err) {
        throw new CountersignError('BAD_REQUEST', `cannot read ${opts.key}: ${(err as Error).message}`);
      }
      if (/PRIVATE KEY/.test(publicKey)) {
        throw new CountersignError('VALIDATION_FAILED', `${opts.key} is a PRIVATE key; pass the .pub file (nothing was sent)`);
      }
      const k = await clientFrom(opts).request<TrustedKeyView>('POST', '/v1/trust', {
        publicKey,
        ...(opts.name === undefined ? {} : { name: opts.name }),
      });
      emit(io, Boolean(opts.json), k, () => `Trusted publisher key ${k.keyId} (${k.name}).`);
    });

  remoteOptions(trust.command('remove <keyId>'))
    .description('Stop trusting a publisher key.')
    .option('--reason <text>', 'why, for the audit log')
    .action(async (keyId: string, opts: JsonOptions & { reason?: string }) => {
      const k = await clientFrom(opts).request<TrustedKeyView>(
        'DELETE',
        `/v1/trust/${encodeURIComponent(keyId)}`,
        opts.reason === undefined ? {} : { reason: opts.reason },
      );
      emit(io, Boolean(opts.json), k, () => `Removed publisher key ${k.keyId} (${k.name}) from the trust store.`);
    });

  remoteOptions(trust.command('list'))
    .description('List trusted publisher keys and the signatures each environment requires.')
    .action(async (opts: JsonOptions) => {
      const list = await clientFrom(opts).request<TrustListView>('GET', '/v1/trust');
      emit(io, Boolean(opts.json), list, () => {
        const envs = Object.entries(list.policy.environments).map(([e, k]) => `${e}: ${k}`);
        const policy = `Signatures required: ${list.policy.required} by default${envs.length > 0 ? `; ${envs.join(', ')}` : ''}.`;
        if (list.keys.length === 0) return `No trusted publisher keys: no tool can load.\n${policy}`;
        const rows = [['KEY ID', 'NAME', 'ADDED', 'BY']];
        for (const k of list.keys) rows.push([k.keyId, k.name, k.addedAt, k.addedBy]);
        return `${table(rows)}\n${policy}`;
      });
    });
}
