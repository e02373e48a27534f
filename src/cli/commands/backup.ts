import type { Command } from 'commander';
import { defaultDataDir } from '../../server/datadir.ts';
import { emit, type Io, progressLine, verdict } from '../output.ts';

interface BackupCliOptions {
  dir: string;
  databaseUrl?: string;
  output: string;
  json?: boolean;
}

interface RestoreCliOptions {
  dir: string;
  databaseUrl?: string;
  input: string;
  force?: boolean;
  json?: boolean;
}

// ---- scale-out: backup and restore ----
export function registerBackup(program: Command, io: Io): void {
  program
    .command('backup')
    .description('Copy the store while it serves: SQLite by its online backup API (then verified), PostgreSQL by pg_dump.')
    .requiredOption('--output <file>', 'where to write the backup (never overwritten)')
    .option('--dir <dir>', 'data directory (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--database-url <url>', 'PostgreSQL URL (env COUNTERSIGN_DATABASE_URL)')
    .option('--json', 'machine-readable report')
    .addHelpText('after', '\nThe keys are not in the store: back up <dir>/keys with your secrets. See docs/operations.md.\n')
    .action(async (opts: BackupCliOptions) => {
      const { backupStore } = await import('../../backup/index.ts');
      const r = await backupStore(opts.dir, { databaseUrl: opts.databaseUrl, output: opts.output });
      emit(io, Boolean(opts.json), r, () =>
        [
          `${verdict(io, r.audit?.ok !== false, 'OK')}: ${r.engine} backup written to ${r.output} (${r.bytes} bytes)`,
          r.audit
            ? `  audit chain of the copy: ${r.audit.ok ? r.audit.message : `FAILED at seq ${r.audit.firstBadSeq}: ${r.audit.message}`}`
            : '  audit chain: verified by `countersign restore`',
        ].join('\n'),
      );
      if (r.audit && !r.audit.ok) process.exitCode = 1;
    });

  program
    .command('restore')
    .description('Put a backup in place, only after its audit chain verifies with this directory’s keys. Stop the servers first.')
    .requiredOption('--input <file>', 'the backup to restore')
    .option('--dir <dir>', 'data directory (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--database-url <url>', 'PostgreSQL URL of an empty database to restore into (env COUNTERSIGN_DATABASE_URL)')
    .option('--force', 'SQLite: replace the existing store (kept beside it as countersign.db.replaced-<time>)')
    .option('--json', 'machine-readable report')
    .action(async (opts: RestoreCliOptions) => {
      const { restoreStore } = await import('../../backup/index.ts');
      const progress = progressLine(io, (n) => `verifying the backup's audit log: ${n.toLocaleString('en-US')} entries`);
      let r: Awaited<ReturnType<typeof restoreStore>>;
      try {
        r = await restoreStore(opts.dir, {
          databaseUrl: opts.databaseUrl,
          input: opts.input,
          force: opts.force,
          onVerifyProgress: progress.update,
        });
      } finally {
        progress.done();
      }
      emit(io, Boolean(opts.json), r, () =>
        [
          `${verdict(io, true, 'OK')}: ${r.engine} store restored; audit chain verified (${r.audit.message})`,
          ...(r.replaced ? [`  the previous store is kept at ${r.replaced}`] : []),
        ].join('\n'),
      );
    });
}
