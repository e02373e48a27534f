import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { CountersignError } from '../../errors/index.ts';
import { dataDirPaths, defaultDataDir } from '../../server/datadir.ts';
import { emit, type Io, progressLine, verdict } from '../output.ts';
import { registerAuditProofs } from './audit-proofs.ts';

interface LocalOptions {
  dir: string;
  databaseUrl?: string;
  json?: boolean;
}

/** The store and config modules load here, when a command runs, not when the CLI starts. */
async function openReadOnly(opts: LocalOptions) {
  const [{ loadConfig }, { openStore }] = await Promise.all([import('../../config/index.ts'), import('../../server/store-binding.ts')]);
  const config = loadConfig(dataDirPaths(opts.dir).dir);
  return openStore(opts.dir, config, { databaseUrl: opts.databaseUrl }, 'read');
}

/** The audit public keys' directory, where countersign.yaml puts the keys (`keys.dir`). */
async function keysOf(dir: string): Promise<string> {
  const [{ loadConfig }, { keyLocations }] = await Promise.all([import('../../config/index.ts'), import('../../server/key-location.ts')]);
  return keyLocations(dataDirPaths(dir), loadConfig(dataDirPaths(dir).dir)).keys;
}

function parseThreads(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new CountersignError('BAD_REQUEST', `--threads must be a whole number from 1 to 64, got "${value}"`);
  }
  return n;
}

export function registerAudit(program: Command, io: Io): void {
  const audit = program
    .command('audit')
    .description('Verify, export and prove entries of the tamper-evident audit log (reads the data directory).');

  audit
    .command('verify')
    .description('Walk the hash chain and signed checkpoints; exit 1 naming the first bad sequence number.')
    .option('--dir <dir>', 'data directory (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--database-url <url>', 'PostgreSQL URL (env COUNTERSIGN_DATABASE_URL)')
    .option('--json', 'machine-readable report')
    .option('--threads <n>', 'reader threads for a long SQLite log (default: one per core, at most 8; 1 reads it on one thread)')
    .addHelpText(
      'after',
      '\nDetects modified, deleted, inserted and reordered entries, and truncation behind the last checkpoint.\n' +
        'On SQLite a log of 200,000 entries or more is cut into stretches read and checked at once, one per thread;\n' +
        'the verdict is the same. Use --threads 1 to leave the other cores to a busy host.\n',
    )
    .action(async (opts: LocalOptions & { threads?: string }) => {
      const threads = parseThreads(opts.threads);
      const { verifyStoreAudit } = await import('../../backup/index.ts');
      const store = await openReadOnly(opts);
      try {
        const total = (await store.auditHead())?.seq ?? 0;
        const count = (n: number) => n.toLocaleString('en-US');
        const progress = progressLine(io, (n) =>
          total > 0
            ? `verifying the audit log: ${count(n)} of ${count(total)} entries (${Math.floor((100 * n) / total)}%)`
            : `verifying the audit log: ${count(n)} entries`,
        );
        let report: Awaited<ReturnType<typeof verifyStoreAudit>>;
        try {
          report = await verifyStoreAudit(store, await keysOf(opts.dir), { threads, onProgress: progress.update });
        } finally {
          progress.done();
        }
        emit(io, Boolean(opts.json), report, () =>
          report.ok
            ? `${verdict(io, true, 'OK')}: ${report.message}; last checkpoint at seq ${report.lastCheckpoint?.seq ?? '-'} (${report.lastCheckpoint?.ts ?? 'none'})`
            : `${verdict(io, false, 'FAILED')} at seq ${report.firstBadSeq}: ${report.message}`,
        );
        if (!report.ok) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });

  audit
    .command('export')
    .description('Write the audit log as JSON lines (entries, then signed checkpoints), exactly as stored.')
    .option('--dir <dir>', 'data directory (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--database-url <url>', 'PostgreSQL URL (env COUNTERSIGN_DATABASE_URL)')
    .option('--output <file>', 'write to a file instead of standard output')
    .action(async (opts: LocalOptions & { output?: string }) => {
      const store = await openReadOnly(opts);
      const out = opts.output ? createWriteStream(opts.output, { flags: 'wx', mode: 0o600 }) : process.stdout;
      const write = (line: string) =>
        new Promise<void>((resolve, reject) => {
          if (out.write(`${line}\n`)) resolve();
          else out.once('drain', resolve).once('error', reject);
        });
      let n = 0;
      try {
        for await (const e of store.iterateAuditForVerification()) {
          await write(JSON.stringify({ type: 'entry', ...e }));
          n++;
        }
        for (const cp of await store.listAuditCheckpoints()) await write(JSON.stringify({ type: 'checkpoint', ...cp }));
      } finally {
        await store.close();
        if (opts.output) await new Promise<void>((r) => (out as ReturnType<typeof createWriteStream>).end(r));
      }
      if (opts.output) io.err(`exported ${n} entries to ${opts.output}`);
      if (n === 0 && !opts.output) throw new CountersignError('NOT_FOUND', 'the audit log is empty');
    });

  registerAuditProofs(audit, io, openReadOnly);
}
