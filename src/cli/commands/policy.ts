import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CountersignError } from '../../errors/index.ts';
import type { CedarAuthorizer, PolicyDir } from '../../policy/index.ts';
// The schema file's name only, for the help text: the domain's index loads Cedar (WebAssembly),
// which the CLI loads when a policy command runs, not when it starts.
import { SCHEMA_FILE } from '../../policy/schema.ts';
import { defaultDataDir } from '../../server/datadir.ts';
import { emit, type Io, table, verdict } from '../output.ts';

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();

type PolicyDomain = typeof import('../../policy/index.ts');
const policyDomain = (): Promise<PolicyDomain> => import('../../policy/index.ts');

/**
 * Where a directory argument's policies are: a data directory holds them in `policies/`; a
 * directory holding the schema is itself a policy directory (a data dir's `policies/`, or a
 * checkout of proposed policies under any name).
 */
type PolicyLocation = { dataDir: string } | { policyDir: string };

function locate(p: PolicyDomain, dir: string): PolicyLocation {
  const abs = resolve(dir);
  if (isDir(p.policiesPath(abs))) return { dataDir: abs };
  if (existsSync(join(abs, SCHEMA_FILE))) {
    return basename(abs) === 'policies' ? { dataDir: dirname(abs) } : { policyDir: abs };
  }
  throw new CountersignError(
    'CONFIG_INVALID',
    `${abs} holds neither policies/ nor ${SCHEMA_FILE}; pass a data directory (countersign init) or a directory of .cedar files with a ${SCHEMA_FILE}`,
  );
}

/**
 * Reads a policy directory that is not under a data directory, with loadPolicyDir's rules
 * (name order, ids from splitPolicyFile, no id twice, no empty set).
 */
function readPolicyDirectory(p: PolicyDomain, dir: string): PolicyDir {
  let names: string[];
  let schema: string;
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.cedar'))
      .sort();
    schema = readFileSync(join(dir, SCHEMA_FILE), 'utf8');
  } catch (err) {
    throw new CountersignError('CONFIG_INVALID', `cannot read the policy directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const policies: Record<string, string> = {};
  const files: Record<string, string> = {};
  for (const name of names) {
    for (const [id, policy] of Object.entries(p.splitPolicyFile(name, readFileSync(join(dir, name), 'utf8')))) {
      if (files[id] !== undefined)
        throw new CountersignError('CONFIG_INVALID', `policy id "${id}" is defined in both ${files[id]} and ${name}`);
      policies[id] = policy;
      files[id] = name;
    }
  }
  if (Object.keys(policies).length === 0) throw new CountersignError('CONFIG_INVALID', `no policies in ${dir}: add .cedar files`);
  return { policies, schema, files };
}

/**
 * An authorizer over a policy set as it is, canaries not enforced: `policy test` and `policy
 * diff` must be able to show what a bad set would do. The canary verdict comes back with it.
 */
function inspect(p: PolicyDomain, dir: string): { authorizer: CedarAuthorizer; path: string; canariesAllowed: string[] } {
  const where = locate(p, dir);
  const loaded = 'dataDir' in where ? p.loadPolicyDir(where.dataDir) : readPolicyDirectory(p, where.policyDir);
  const authorizer = new p.CedarAuthorizer(loaded.policies, loaded.schema, { policyFiles: loaded.files });
  const canaries = p.checkCanaries(authorizer);
  const path = 'dataDir' in where ? p.policiesPath(where.dataDir) : where.policyDir;
  return { authorizer, path, canariesAllowed: canaries.ok ? [] : canaries.failed };
}

function readRequests(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CountersignError('BAD_REQUEST', `cannot read ${file === '-' ? 'standard input' : file}: ${(err as Error).message}`);
  }
}

function warnCanaries(io: Io, path: string, failed: string[]): void {
  if (failed.length === 0) return;
  io.err(
    `warning: the policy set in ${path} allows requests that must always be denied (${failed.map((n) => `"${n}"`).join(', ')}); the server will refuse to load it. See \`countersign policy validate\`.`,
  );
}

const TEST_FILE_HELP = `
Test file (YAML):
  tests:
    - name: agent cannot approve
      principal: { id: bot, tenant: default, kind: agent, groups: [agent] }
      action: plan.approve
      resource: { type: Plan, id: p1, tenant: default, environment: prod, risk: high, proposer: alice }
      expect: deny
    - name: approver may approve another's plan
      principal: { id: bob, tenant: default, kind: human, groups: [approvers] }
      action: plan.approve
      resource: { type: Plan, id: p1, tenant: default, environment: prod, risk: high, proposer: alice }
      expect: allow`;

export function registerPolicy(program: Command, io: Io): void {
  const policy = program
    .command('policy')
    .description('Check Cedar policies locally, without a server: validate, test against expected decisions, diff two sets.')
    .addHelpText(
      'after',
      `
Policies live in <data dir>/policies/*.cedar with ${SCHEMA_FILE}. Every command here is local and
pure: it reads files and calls no server.

Examples:
  countersign policy validate --dir /var/lib/countersign
  countersign policy test policy-tests.yaml
  countersign policy diff .countersign ./proposed-policies --requests policy-tests.yaml
`,
    );

  policy
    .command('validate')
    .description('Load the policy set as the server would — parse, schema-validate, canaries — and say OK or why not.')
    .option('--dir <dir>', 'data directory, or a directory of .cedar files (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--json', 'machine-readable report')
    .addHelpText(
      'after',
      `
Fails (exit 3) naming the file on a syntax or schema error, and naming the canary when the set
allows a request that must always be denied (an agent approving, a proposer approving its own
plan, a cross-tenant read, …): the server refuses such a set at start and on reload.

Examples:
  countersign policy validate
  countersign policy validate --dir /var/lib/countersign --json
`,
    )
    .action(async (opts: { dir: string; json?: boolean }) => {
      const p = await policyDomain();
      const where = locate(p, opts.dir);
      let authorizer: CedarAuthorizer;
      let path: string;
      if ('dataDir' in where) {
        authorizer = p.loadCedarAuthorizer(where.dataDir);
        path = p.policiesPath(where.dataDir);
      } else {
        const inspected = inspect(p, where.policyDir);
        if (inspected.canariesAllowed.length > 0) {
          const names = inspected.canariesAllowed.map((n) => `"${n}"`).join(', ');
          throw new CountersignError(
            'CONFIG_INVALID',
            `the policy set in ${inspected.path} allows requests that must always be denied: ${names}`,
          );
        }
        authorizer = inspected.authorizer;
        path = inspected.path;
      }
      const report = { ok: true, path, policies: [...authorizer.policyIds], warnings: [...authorizer.warnings] };
      emit(io, Boolean(opts.json), report, () =>
        [
          `${verdict(io, true, 'OK')}: ${report.policies.length} policies in ${path} load, validate against the schema and deny every canary.`,
          ...report.warnings.map((w) => `warning: ${w}`),
        ].join('\n'),
      );
    });

  policy
    .command('upgrade')
    .description("Bring a data directory's baseline policy files and schema to this release (keeps backups).")
    .option('--dir <dir>', 'data directory (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--database-url <url>', 'PostgreSQL URL (env COUNTERSIGN_DATABASE_URL); the upgrade is audited in the store')
    .option('--dry-run', 'say what would change, write nothing')
    .option('--json', 'machine-readable report')
    .addHelpText(
      'after',
      `
A release that adds actions (host operations, new interfaces) declares them in the schema and
the baseline's roles; a data directory made by an earlier release then no longer loads, and the
server says so and names this command. The upgraded set, with your own policy files beside it,
is loaded and canary-checked before anything is written: a set the server would refuse is never
written. Each replaced file is kept as <file>.bak-<time>: if you had edited a baseline file,
re-apply your edits from it (or, better, put them in a file of your own). Then restart the
server or send it SIGHUP.

Examples:
  countersign policy upgrade --dry-run
  countersign policy upgrade --dir /var/lib/countersign
`,
    )
    .action(async (opts: { dir: string; databaseUrl?: string; dryRun?: boolean; json?: boolean }) => {
      // A dry run reads only; the upgrade itself is the audited host operation policy.upgrade.
      const report = opts.dryRun
        ? (await policyDomain()).upgradeBaselinePolicies(resolve(opts.dir), { dryRun: true })
        : await (await import('../../server/host-maintenance.ts')).upgradePolicies(resolve(opts.dir), { databaseUrl: opts.databaseUrl });
      const changed = report.files.filter((f) => f.change !== 'unchanged');
      emit(io, Boolean(opts.json), report, () =>
        [
          ...report.files.map((f) => {
            const how = f.change === 'replaced' && f.backup ? `replaced (the previous text is in ${f.backup})` : f.change;
            return `  ${f.file}: ${report.dryRun && f.change !== 'unchanged' ? `would be ${f.change}` : how}`;
          }),
          '',
          changed.length === 0
            ? `${verdict(io, true, 'OK')}: the baseline policies in ${report.dir} are this release's already.`
            : report.dryRun
              ? `Dry run: ${changed.length} file(s) would change; the upgraded set (${report.policies} policies) loads and denies every canary.`
              : `${verdict(io, true, 'OK')}: ${changed.length} file(s) upgraded; ${report.policies} policies load and deny every canary. Restart the server or send it SIGHUP.`,
        ].join('\n'),
      );
    });

  policy
    .command('test <file>')
    .description('Decide each request of a YAML file under the policy set and compare with its expected decision.')
    .option('--dir <dir>', 'data directory, or a directory of .cedar files (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--json', 'machine-readable results')
    .addHelpText(
      'after',
      `${TEST_FILE_HELP}

Exit 0 when every test gets its expected decision, 1 when any does not (for CI), 2 on an invalid
test file, 3 on an invalid policy set.

Examples:
  countersign policy test policy-tests.yaml
  countersign policy test policy-tests.yaml --dir ./proposed-policies --json
`,
    )
    .action(async (file: string, opts: { dir: string; json?: boolean }) => {
      const p = await policyDomain();
      const { authorizer, path, canariesAllowed } = inspect(p, opts.dir);
      const results = p.runPolicyTests(authorizer, readRequests(file));
      const failed = results.filter((r) => !r.pass).length;
      warnCanaries(io, path, canariesAllowed);
      emit(io, Boolean(opts.json), { ok: failed === 0, path, results }, () => {
        const rows = [['RESULT', 'EXPECT', 'GOT', 'TEST', 'WHY']];
        for (const r of results)
          rows.push([verdict(io, r.pass, r.pass ? 'pass' : 'FAIL'), r.expected, r.actual, r.name, r.reasons.join('; ') || '-']);
        return `${table(rows)}\n\n${results.length - failed} passed, ${failed} failed (policies in ${path}).`;
      });
      if (failed > 0) process.exitCode = 1;
    });

  policy
    .command('diff <old> <new>')
    .description('Show which requests change decision between two policy sets, before the change ships.')
    .requiredOption('--requests <file>', 'YAML of requests, as for `policy test` (expect is optional and ignored)')
    .option('--json', 'machine-readable list of changes')
    .addHelpText(
      'after',
      `
OLD and NEW are each a data directory or a directory of .cedar files with ${SCHEMA_FILE}.

Exit codes, like diff(1): 0 when no request changes decision, 1 when some do, 2 on an invalid
requests file, 3 on an invalid policy set.

Examples:
  countersign policy diff .countersign ./proposed-policies --requests policy-tests.yaml
  countersign policy diff old/policies new/policies --requests reqs.yaml --json
`,
    )
    .action(async (oldDir: string, newDir: string, opts: { requests: string; json?: boolean }) => {
      const p = await policyDomain();
      const before = inspect(p, oldDir);
      const after = inspect(p, newDir);
      const changed = p.diffPolicies(before.authorizer, after.authorizer, readRequests(opts.requests));
      warnCanaries(io, after.path, after.canariesAllowed);
      emit(io, Boolean(opts.json), { changed, old: before.path, new: after.path }, () => {
        if (changed.length === 0) return `No request changes decision between ${before.path} and ${after.path}.`;
        const rows = [['REQUEST', 'OLD', 'NEW', 'WHY (new)']];
        for (const c of changed) rows.push([c.name, c.before, c.after, c.afterReasons.join('; ') || '-']);
        return `${table(rows)}\n\n${changed.length === 1 ? '1 request changes' : `${changed.length} requests change`} decision.`;
      });
      if (changed.length > 0) process.exitCode = 1;
    });
}
