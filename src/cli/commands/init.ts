import type { Command } from 'commander';
import { defaultDataDir } from '../../server/datadir.ts';
import type { InitResult } from '../../server/init.ts';
import { emit, type Io } from '../output.ts';

export function describeInit(r: InitResult, serving = false): string {
  return [
    `Initialized Countersign in ${r.dir} (${r.store} store).`,
    '',
    'Admin API key (shown once — store it in your secret manager now):',
    '',
    `  ${r.adminKey}`,
    '',
    'Next:',
    ...(serving ? [] : [`  countersign serve --dir ${r.dir}`]),
    `  export COUNTERSIGN_TOKEN=${r.adminKey.slice(0, 12)}…   # the key above`,
  ].join('\n');
}

export function registerInit(program: Command, io: Io): void {
  program
    .command('init')
    .description('Create a data directory: config, keys, database, default tenant, environments and an admin key.')
    .option('--dir <dir>', 'data directory (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--database-url <url>', 'use PostgreSQL instead of the embedded SQLite file (env COUNTERSIGN_DATABASE_URL)')
    .option('--json', 'print a JSON object with dir and adminKey')
    .addHelpText('after', '\nExamples:\n  countersign init\n  countersign init --dir /var/lib/countersign --json\n')
    .action(async (opts: { dir: string; databaseUrl?: string; json?: boolean }) => {
      const { initDataDir } = await import('../../server/init.ts');
      const r = await initDataDir(opts.dir, { databaseUrl: opts.databaseUrl });
      emit(io, Boolean(opts.json), r, () => describeInit(r));
    });
}
