import type { Command } from 'commander';
import { defaultDataDir } from '../../server/datadir.ts';
import type { InitResult } from '../../server/index.ts';
import { emit, type Io } from '../output.ts';

/** Where the database password went: said once, so nobody looks for it in countersign.yaml. */
function describePassword(r: InitResult): string[] {
  if (r.passwordFile) return [`The database password is in ${r.passwordFile} (0600), not in countersign.yaml.`];
  if (r.passwordEnv) return [`Every command reads the database password from $${r.passwordEnv}: keep it set.`];
  return [];
}

export function describeInit(r: InitResult, serving = false): string {
  return [
    `Initialized Countersign in ${r.dir} (${r.store} store).`,
    `Store: ${r.database} (installation ${r.installationId}), recorded in countersign.yaml.`,
    ...describePassword(r),
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
    .option(
      '--database-url <url>',
      'create the store in this PostgreSQL database instead of the embedded SQLite file (env COUNTERSIGN_DATABASE_URL); recorded in countersign.yaml without its password',
    )
    .option(
      '--database-password-env <name>',
      `record the PostgreSQL password as \${env:NAME} instead of writing it to keys/database.password (0600)`,
    )
    .option('--json', 'print a JSON object with dir and adminKey')
    .addHelpText(
      'after',
      `
Examples:
  countersign init
  countersign init --dir /var/lib/countersign --json
  countersign init --dir pgdata --database-url postgres://countersign:secret@db.internal:5432/countersign
  PGPASS=secret countersign init --dir pgdata --database-url postgres://countersign@db.internal/countersign --database-password-env PGPASS
`,
    )
    .action(async (opts: { dir: string; databaseUrl?: string; databasePasswordEnv?: string; json?: boolean }) => {
      const { initDataDir } = await import('../../server/init.ts');
      const r = await initDataDir(opts.dir, { databaseUrl: opts.databaseUrl, databasePasswordEnv: opts.databasePasswordEnv });
      emit(io, Boolean(opts.json), r, () => describeInit(r));
    });
}
