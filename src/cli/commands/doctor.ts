import type { Command } from 'commander';
import { CountersignError } from '../../errors/index.ts';
import { defaultDataDir } from '../../server/datadir.ts';
import { emit, type Io } from '../output.ts';

export function registerDoctor(program: Command, io: Io): void {
  program
    .command('doctor')
    .description('Enforcement report: each security control PASS, FAIL or NOTE with evidence, as a Markdown table; exit 1 on any FAIL.')
    .option('--dir <dir>', 'data directory (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--database-url <url>', 'PostgreSQL URL (env COUNTERSIGN_DATABASE_URL)')
    .option('--json', 'machine-readable report')
    .option('--markdown', 'Markdown table (the default)')
    .addHelpText(
      'after',
      `
Controls: policy deny by default and canaries; sandbox available and enforced; OIDC JWKS
allowlisted; audit chain intact and last checkpoint; keys present and not readable by others;
development switches off; signed tools only and the trust store; rate limits; break-glass
notifications. Reads the data directory and database; changes nothing.

Examples:
  countersign doctor --dir /var/lib/countersign > review.md
  countersign doctor --json | jq '.checks[] | select(.result == "FAIL")'
`,
    )
    .action(async (opts: { dir: string; databaseUrl?: string; json?: boolean; markdown?: boolean }) => {
      if (opts.json && opts.markdown) throw new CountersignError('BAD_REQUEST', 'choose --json or --markdown, not both');
      const { renderDoctorMarkdown, runDoctor } = await import('../../doctor/index.ts');
      const report = await runDoctor(opts.dir, { databaseUrl: opts.databaseUrl });
      emit(io, Boolean(opts.json), report, () => renderDoctorMarkdown(report));
      if (!report.ok) process.exitCode = 1;
    });
}
