import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CountersignError } from '../../errors/index.ts';
import { dataDirPaths, defaultDataDir } from '../../server/datadir.ts';
import { emit, type Io, table, verdict } from '../output.ts';
import { clientFrom, type RemoteOptions } from '../remote.ts';
import { remoteOptions } from './plan.ts';
import { describeOrigin, fetchOrigin } from './plan-origin.ts';

// alerts: playbooks (sign, dry-run) and the origin of an alert plan. Domains load on use so the
// CLI starts light.
const alertsDomain = () => import('../../alerts/index.ts');
const SOURCE_TYPES = ['alertmanager', 'grafana', 'pagerduty', 'hmac'] as const;

function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CountersignError('BAD_REQUEST', `cannot read ${file} as JSON: ${(err as Error).message}`);
  }
}

interface DryRunOptions {
  payload: string;
  source?: string;
  type?: (typeof SOURCE_TYPES)[number];
  dir: string;
  databaseUrl?: string;
  json?: boolean;
}

/** What a payload would make a playbook propose, computed locally: no model is called, nothing is stored. */
async function dryRun(file: string, opts: DryRunOptions) {
  const [alerts, { loadConfig }, { openStore }, { manifestTrustAtStart }, { loadToolDir }] = await Promise.all([
    alertsDomain(),
    import('../../config/index.ts'),
    import('../../server/store-binding.ts'),
    import('../../trust/index.ts'),
    import('../../tools/index.ts'),
  ]);
  const paths = dataDirPaths(opts.dir);
  const config = loadConfig(paths.dir);
  const store = await openStore(paths.dir, config, { databaseUrl: opts.databaseUrl }, 'read');
  let trust: Awaited<ReturnType<typeof manifestTrustAtStart>>;
  try {
    trust = await manifestTrustAtStart(store, config);
  } finally {
    await store.close();
  }
  const tools = loadToolDir(paths.tools, trust);
  const doc = alerts.readPlaybookDocument(file);
  const signatures = alerts.playbookSignatures(doc, file, trust);
  const pb = alerts.compilePlaybook(doc, file, tools, signatures.signers, signatures.problem !== null);
  const source = opts.source ? config.alerts.sources.find((s) => s.name === opts.source) : undefined;
  if (opts.source && !source) throw new CountersignError('BAD_REQUEST', `no webhook source "${opts.source}" in ${paths.config}`);
  const type = source?.type ?? opts.type ?? 'alertmanager';
  const delivery = alerts.readDelivery(type, readJsonFile(opts.payload));
  const matched = (delivery?.alerts ?? [])
    .filter((a) => alerts.matches(pb, a, source?.name ?? opts.source ?? ''))
    .sort((a, b) => a.fingerprint.localeCompare(b.fingerprint));
  const base = {
    playbook: pb.playbook.name,
    signed: signatures.problem === null,
    signature: signatures.problem ?? 'ok',
    groupKey: delivery?.groupKey ?? null,
  };
  if (matched.length === 0)
    return { ...base, matched: 0, proposes: null, reasons: ['no firing alert of the payload matches the playbook'] };
  const extraction = alerts.extractFields(pb, matched[0]!);
  if (!extraction.ok) return { ...base, matched: matched.length, proposes: null, reasons: extraction.reasons };
  const candidate = alerts.templateCandidate(pb, extraction.fields);
  const reasons: string[] = [];
  for (const [i, step] of candidate.steps.entries()) {
    const checked = tools.get(step.tool)?.validators.get(step.action)?.safeParse(step.input);
    if (checked && !checked.success) reasons.push(`steps[${i}]: ${checked.error.issues[0]?.message ?? 'refused by the tool schema'}`);
  }
  return {
    ...base,
    matched: matched.length,
    fields: extraction.fields,
    proposes: reasons.length > 0 ? null : { environment: candidate.environment, intent: candidate.intent, steps: candidate.steps },
    provenance: candidate.origins,
    planner: pb.playbook.planner ? `model ${pb.playbook.planner.model} would choose among the templates (not called by a dry run)` : null,
    reviewers: pb.playbook.reviewers ?? null,
    reasons,
  };
}

export function registerPlaybook(program: Command, io: Io): void {
  const playbook = program
    .command('playbook')
    .description('Playbooks: what an alert proposes. Signed like tool manifests; see docs/alerts.md.');

  playbook
    .command('sign <file>')
    .description('Sign a playbook with a publisher key (the same keys and .sig files as tool manifests).')
    .requiredOption('--key <file>', 'the publisher private key (publisher-<id>.key, mode 0600)')
    .option('--json', 'print the signature as JSON')
    .action(async (file: string, opts: { key: string; json?: boolean }) => {
      const [{ PlaybookSchema, readPlaybookDocument }, tools] = await Promise.all([alertsDomain(), import('../../tools/index.ts')]);
      const doc = readPlaybookDocument(file);
      // A publisher signs only a playbook the schema accepts.
      const parsed = PlaybookSchema.safeParse(doc);
      if (!parsed.success) throw new CountersignError('PLAYBOOK_INVALID', `${file}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      const signature = tools.signManifestText(tools.manifestSigningText(doc), tools.readPublisherPrivateKey(opts.key));
      const all = tools.mergeSignature(tools.readSignaturesBeside(file), signature);
      writeFileSync(`${file}${tools.SIGNATURE_SUFFIX}`, tools.formatSignatureFile(all), { mode: 0o644 });
      emit(io, Boolean(opts.json), { file, ...signature, signatures: all.length }, () => `Signed ${file} with key ${signature.keyId}.`);
    });

  playbook
    .command('dry-run <file>')
    .description('Show what an alert payload would make a playbook propose: typed fields, steps and the provenance of every value.')
    .requiredOption('--payload <file>', 'a webhook payload as JSON (Alertmanager v4 by default)')
    .option('--source <name>', 'read the payload as this configured webhook source does')
    .option('--type <type>', `payload type without --source: ${SOURCE_TYPES.join(', ')}`)
    .option('--dir <dir>', 'data directory (tools, trust store, sources; env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--database-url <url>', 'PostgreSQL URL (env COUNTERSIGN_DATABASE_URL)')
    .option('--json', 'machine-readable report')
    .addHelpText('after', '\nExample:\n  countersign playbook dry-run .countersign/playbooks/restart.yaml --payload alert.json\n')
    .action(async (file: string, opts: DryRunOptions) => {
      if (opts.type && !SOURCE_TYPES.includes(opts.type))
        throw new CountersignError('BAD_REQUEST', `--type must be one of ${SOURCE_TYPES.join(', ')}`);
      const report = await dryRun(file, opts);
      emit(io, Boolean(opts.json), report, () => {
        const head = `${verdict(io, report.proposes !== null, report.proposes ? 'PROPOSES' : 'NOTHING')}: playbook ${report.playbook} (${report.signed ? 'signed' : `NOT LOADABLE: ${report.signature}`})`;
        if (!report.proposes) return [head, ...report.reasons.map((r) => `  - ${r}`)].join('\n');
        const origin = new Map((report.provenance ?? []).map((o) => [o.path, o.label ? `${o.provenance} (${o.label})` : o.provenance]));
        const rows = [['VALUE', 'IS', 'FROM']];
        rows.push(['environment', report.proposes.environment, origin.get('environment') ?? '']);
        for (const [i, st] of report.proposes.steps.entries()) {
          for (const [k, v] of Object.entries(st.input))
            rows.push([`steps[${i}] ${st.tool}.${st.action} ${k}`, JSON.stringify(v), origin.get(`steps[${i}].input.${k}`) ?? '']);
        }
        return [head, `Intent: ${report.proposes.intent}`, table(rows), report.planner ? `Planner: ${report.planner}` : '']
          .filter(Boolean)
          .join('\n');
      });
      if (!report.proposes) process.exitCode = 1;
    });

  const plan = program.commands.find((c) => c.name() === 'plan');
  if (!plan) return;
  remoteOptions(plan.command('origin <id>'))
    .description("Where an alert plan came from: each value's provenance, the planner and the model reviews (advice, never a human seat).")
    .action(async (id: string, opts: RemoteOptions & { json?: boolean }) => {
      const o = await fetchOrigin(clientFrom(opts), id);
      emit(io, Boolean(opts.json), o, () => describeOrigin(o));
    });
}
