import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { CountersignClient, type DecisionResult, type PlanView } from '../../client/index.ts';
import { CountersignError } from '../../errors/index.ts';
import { emit, type Io, table } from '../output.ts';
import { DEFAULT_SERVER, type RemoteOptions } from '../remote.ts';
import { remoteOptions } from './plan.ts';

/** Asks a yes/no question on the terminal; resolves false on anything but y/yes. */
export type Confirm = (question: string) => Promise<boolean>;

/** The real prompt: only when standard input is a terminal, so a pipe can never answer "y". */
export const terminalConfirm: Confirm | null = process.stdin.isTTY
  ? async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^y(es)?$/i.test((await rl.question(question)).trim());
      } finally {
        rl.close();
      }
    }
  : null;

type JsonOptions = RemoteOptions & { json?: boolean };

/** Reviews are labelled `cli` in the audit trail; the label grants nothing. */
function reviewClient(opts: RemoteOptions, env: NodeJS.ProcessEnv = process.env): CountersignClient {
  return new CountersignClient({
    server: opts.server ?? env.COUNTERSIGN_SERVER ?? DEFAULT_SERVER,
    token: opts.token ?? env.COUNTERSIGN_TOKEN,
    clientName: 'cli',
  });
}

/** Quotes one argv element for display the way a POSIX shell would read it back. */
function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The rendered command line when the server sends it (`argv`), else the step's input and why. */
function stepLine(step: PlanView['steps'][number], i: number): string {
  const head = `    ${i + 1}. ${step.tool}.${step.action}`;
  if (step.argv) return `${head}\n         $ ${step.argv.map(shellQuote).join(' ')}`;
  const note = step.argvNote ? `\n         ! ${step.argvNote}` : '';
  return `${head} ${JSON.stringify(step.input)}${note}`;
}

// ---- previews (issue 17) ----
/** Most lines of one preview's output shown in the terminal (`--json` carries all of it). */
const PREVIEW_LINES = 40;
/** A tool's output never drives the reviewer's terminal: control characters (but tab) are shown as `?`. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what it replaces
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** What each step's preview showed: its status, then its output, indented; failures with their stderr. */
function previewLines(p: PlanView): string[] {
  if (p.status === 'previewing') return ['  previews:    running in the executor; the plan can be reviewed once they are attached'];
  const previews = p.previews ?? [];
  if (previews.length === 0) return [];
  const lines = [`  previews (${previews.length}):`];
  for (const pv of previews) {
    const state = pv.status === 'ok' ? 'ok' : pv.status === 'timed_out' ? 'TIMED OUT' : 'FAILED';
    lines.push(
      `    step ${pv.step + 1} ${pv.tool}.${pv.action}: ${state}${pv.error ? ` (${pv.error})` : ''}  [${pv.fingerprint.slice(0, 19)}…]`,
    );
    const text = pv.status === 'ok' ? pv.output : `${pv.output}${pv.errors}`;
    const out = text.replace(/\n$/, '').split('\n');
    for (const l of out.slice(0, PREVIEW_LINES)) lines.push(`       | ${l.replace(CONTROL, '?')}`);
    if (out.length > PREVIEW_LINES || pv.truncated) lines.push(`       | … (more: --json shows all that was kept)`);
  }
  return lines;
}

/** Everything a reviewer needs to decide, with the full hash their decision will name. */
export function reviewSummary(p: PlanView): string {
  const lines = [
    `Plan ${p.id} (${p.status})`,
    `  intent:      ${p.intent}`,
    `  environment: ${p.environment}`,
    `  risk:        ${p.risk}`,
    ...p.riskReasons.map((r) => `               - ${r}`),
    `  source:      ${p.source}`,
    `  proposer:    ${p.proposerName ? `${p.proposerName} (${p.proposer})` : p.proposer}`,
    `  steps (${p.steps.length}):`,
    ...p.steps.map(stepLine),
  ];
  if (p.rollback.length > 0) lines.push(`  rollback (${p.rollback.length}):`, ...p.rollback.map(stepLine));
  else lines.push('  rollback:    none');
  const findings = p.findings ?? [];
  if (findings.length > 0) {
    lines.push(`  script findings (${findings.length}):`);
    for (const f of findings) lines.push(`    [${f.severity}] ${f.phase} ${f.step + 1}, line ${f.line}: ${f.message} (${f.rule})`);
  }
  lines.push(...previewLines(p));
  const votes = p.approvals ?? [];
  lines.push(votes.length === 0 ? '  reviews:     none yet' : `  reviews (${votes.length}):`);
  for (const v of votes) {
    const stale = v.planHash === p.hash ? '' : ' (on another hash: does not count)';
    lines.push(
      `    ${v.decision === 'approve' ? 'approved' : 'rejected'} by ${v.reviewerName ?? v.reviewer} at ${v.createdAt}${stale}${v.comment ? `: ${v.comment}` : ''}`,
    );
  }
  const missing = p.tally?.missing ?? p.approval.require.map((r) => `needs ${r.count} approval(s) from group ${r.group}`);
  lines.push(`  still needed: ${missing.length === 0 ? 'nothing' : missing.join('; ')}`);
  if (p.expiresAt) lines.push(`  expires:     ${p.expiresAt}`);
  lines.push(`  hash:        ${p.hash}`);
  return lines.join('\n');
}

function outcomeLine(r: DecisionResult, decision: 'approve' | 'reject'): string {
  const p = r.plan;
  const recorded = decision === 'approve' ? 'Approval recorded' : 'Rejection recorded';
  const missing = r.tally.missing.length > 0 ? `\nStill needed: ${r.tally.missing.join('; ')}` : '';
  const next = p.status === 'approved' ? `\nNext: the plan may now be executed.` : '';
  return `\n${recorded}. Plan ${p.id} is now ${p.status}.${p.status === 'pending_approval' ? missing : ''}${next}`;
}

/** "needs 1 more approval from group sre" → "1 sre", for the inbox's NEEDS column. */
function needsCell(p: PlanView): string {
  const reqs = p.tally?.requirements ?? p.approval.require.map((r) => ({ ...r, have: 0 }));
  const open = reqs.filter((r) => r.have < r.count).map((r) => `${r.count - r.have} ${r.group}`);
  return open.length === 0 ? '-' : open.join(', ');
}

interface ReviewOptions extends JsonOptions {
  yes?: boolean;
  comment?: string;
  reason?: string;
}

async function review(io: Io, confirm: Confirm | null, id: string, decision: 'approve' | 'reject', opts: ReviewOptions): Promise<void> {
  const json = Boolean(opts.json);
  const client = reviewClient(opts);
  // The hash sent is the hash of this fetch, the one displayed: never re-fetched in between,
  // so a plan changed after it was shown is refused by the server (PLAN_HASH_MISMATCH).
  const plan = await client.getPlan(id);
  const summary = reviewSummary(plan);
  // With --json, standard output carries only the server's answer; the summary goes to stderr.
  if (json) io.err(summary);
  else io.out(summary);
  if (plan.status !== 'pending_approval') {
    throw new CountersignError('PLAN_INVALID_TRANSITION', `plan ${plan.id} is ${plan.status}; only pending plans can be reviewed`);
  }
  if (!opts.yes) {
    if (!confirm) {
      throw new CountersignError(
        'BAD_REQUEST',
        `no terminal to confirm on; review the summary above and pass --yes to ${decision} plan ${plan.id} at hash ${plan.hash.slice(0, 12)}…`,
      );
    }
    const verb = decision === 'approve' ? 'Approve' : 'Reject';
    if (!(await confirm(`${verb} plan ${plan.id} at hash ${plan.hash.slice(0, 12)}…? [y/N] `))) {
      io.err('Not sent: nothing was recorded.');
      process.exitCode = 1;
      return;
    }
  }
  const input = { planHash: plan.hash, comment: decision === 'approve' ? (opts.comment ?? '') : (opts.reason ?? '') };
  const result = decision === 'approve' ? await client.approve(plan.id, input) : await client.reject(plan.id, input);
  emit(io, json, result, () => outcomeLine(result, decision));
}

const REVIEW_NOTES = `
The plan is fetched once, summarised (intent, environment, risk and why, steps with their
rendered command line, rollback, reviews so far, what is still needed, full hash), and your
decision names exactly that hash: if the plan changed since, the server refuses it (exit 7).
On a terminal you are asked to confirm (answering no sends nothing and exits 1); without a
terminal the command refuses (exit 2) unless you pass --yes.`;

export function registerApprovals(program: Command, io: Io, confirm: Confirm | null = terminalConfirm): void {
  remoteOptions(program.command('approvals'))
    .description('Your review inbox: pending plans you may approve or reject and have not voted on yet.')
    .option('--limit <n>', 'at most this many plans (1-200)', '50')
    .addHelpText(
      'after',
      `
Agents always have an empty inbox: they never review.

Examples:
  countersign approvals
  countersign approvals --json | jq -r '.plans[].id'
`,
    )
    .action(async (opts: JsonOptions & { limit: string }) => {
      const page = await reviewClient(opts).inbox({ limit: Number(opts.limit) });
      emit(io, Boolean(opts.json), page, () => {
        if (page.plans.length === 0) return 'Nothing to review.';
        const rows = [['ID', 'ENV', 'RISK', 'PROPOSER', 'NEEDS', 'INTENT']];
        for (const p of page.plans)
          rows.push([p.id, p.environment, p.risk, p.proposerName ?? p.proposer, needsCell(p), p.intent.slice(0, 60)]);
        return `${table(rows)}\n\nReview one with: countersign approve <ID>   (or reject <ID> --reason …)`;
      });
    });

  remoteOptions(program.command('approve <id>'))
    .description('Show a plan for review and approve it at the hash shown.')
    .option('-y, --yes', 'do not ask to confirm (required when not on a terminal)')
    .option('--comment <text>', 'a note recorded with your approval')
    .addHelpText(
      'after',
      `${REVIEW_NOTES}

Examples:
  countersign approve pln_01HZX…
  countersign approve pln_01HZX… --yes --comment "checked the target list" --json
`,
    )
    .action((id: string, opts: ReviewOptions) => review(io, confirm, id, 'approve', opts));

  remoteOptions(program.command('reject <id>'))
    .description('Show a plan for review and reject it at the hash shown; one rejection by a required reviewer rejects the plan.')
    .requiredOption('--reason <text>', 'why, recorded with the rejection and listed among the plan reviews')
    .option('-y, --yes', 'do not ask to confirm (required when not on a terminal)')
    .addHelpText(
      'after',
      `${REVIEW_NOTES}

Examples:
  countersign reject pln_01HZX… --reason "targets prod-db-1, expected staging"
  countersign reject pln_01HZX… --reason "wrong bucket" --yes --json
`,
    )
    .action((id: string, opts: ReviewOptions) => review(io, confirm, id, 'reject', opts));

  remoteOptions(program.command('cancel <id>'))
    .description('Cancel a plan that has not run yet (policy decides who may: by default operators and admins).')
    .requiredOption('--reason <text>', 'why, recorded in the audit log')
    .addHelpText(
      'after',
      `
Examples:
  countersign cancel pln_01HZX… --reason "superseded by pln_01HZY…"
  countersign cancel pln_01HZX… --reason "no longer needed" --json
`,
    )
    .action(async (id: string, opts: JsonOptions & { reason: string }) => {
      const p = await reviewClient(opts).cancelPlan(id, opts.reason);
      emit(io, Boolean(opts.json), p, () => `Cancelled plan ${p.id}: ${p.statusReason ?? opts.reason}`);
    });
}
