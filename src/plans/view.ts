import { z } from 'zod';
import { RULES, type RuleId } from '../analysis/index.ts';
import { type Tally, TallySchema, tally } from '../approvals/index.ts';
import type { ApprovalRecord, PlanRecord } from '../store/index.ts';
import { RiskSchema } from '../tools/index.ts';
import { PLAN_SOURCES, parseStoredDocument } from './document.ts';
import type { StepFinding } from './findings.ts';
import { looksLikeDiff, StepPreviewSchema } from './previews.ts';
import { PLAN_STATUSES } from './status.ts';

/** A review of a plan as the API shows it. */
export const ApprovalViewSchema = z.object({
  reviewer: z.string(),
  /** The reviewer's name, beside the id, for people (filled by the operations). */
  reviewerName: z.string().optional(),
  decision: z.enum(['approve', 'reject']),
  planHash: z.string(),
  comment: z.string(),
  channel: z.string(),
  createdAt: z.string(),
});
export type ApprovalView = z.infer<typeof ApprovalViewSchema>;

/** A step as stored, plus the command line it renders to (filled in by the plan service). */
export const StepViewSchema = z.object({
  tool: z.string(),
  action: z.string(),
  /** Validated against the action's input schema at proposal; its shape is the tool's. */
  input: z.record(z.string(), z.unknown()),
  /** SHA-256 of the tool manifest the step was validated against. */
  toolDigest: z.string(),
  argv: z.array(z.string()).nullable().optional(),
  argvNote: z.string().optional(),
});
export type StepView = z.infer<typeof StepViewSchema>;

/** A static-analysis finding placed on its step, as reviewers see it. */
export const StepFindingSchema = z.object({
  rule: z.enum(Object.keys(RULES) as [RuleId, ...RuleId[]]),
  severity: z.enum(['info', 'warning', 'high', 'deny']),
  message: z.string(),
  line: z.number().int(),
  snippet: z.string(),
  phase: z.enum(['steps', 'rollback']),
  step: z.number().int(),
});
// The finding type is declared by the analysis; this keeps the view schema equal to it.
const _findingMatches: [StepFinding, z.infer<typeof StepFindingSchema>] extends [z.infer<typeof StepFindingSchema>, StepFinding]
  ? true
  : never = true;
void _findingMatches;

// ---- previews (issue 17) ----
/** One step's preview as reviewers see it; `diff` says the output reads as a unified diff. */
export const StepPreviewViewSchema = StepPreviewSchema.extend({ diff: z.boolean() });
export type StepPreviewView = z.infer<typeof StepPreviewViewSchema>;

/** What the API, CLI and MCP show of a plan. */
export const PlanViewSchema = z.object({
  id: z.string(),
  hash: z.string(),
  status: z.enum(PLAN_STATUSES),
  statusReason: z.string().nullable(),
  risk: RiskSchema,
  riskReasons: z.array(z.string()),
  environment: z.string(),
  intent: z.string(),
  source: z.enum(PLAN_SOURCES),
  proposer: z.string(),
  /** The proposer's name, beside the id, for people (filled by the operations). */
  proposerName: z.string().optional(),
  steps: z.array(StepViewSchema),
  rollback: z.array(StepViewSchema),
  createdAt: z.string(),
  updatedAt: z.string(),
  expiresAt: z.string().nullable(),
  /** What the plan needs before it may run, fixed at proposal. */
  approval: z.object({
    rules: z.array(z.string()),
    autoApproved: z.boolean(),
    require: z.array(z.object({ group: z.string(), count: z.number().int() })),
    ttlHours: z.number(),
  }),
  /** True when a step's tool lacks the signatures its environment requires (developmentMode only). */
  unsignedTools: z.boolean().optional(),
  /** Present when votes were loaded (single-plan reads): approvals so far and what is missing. */
  approvals: z.array(ApprovalViewSchema).optional(),
  tally: TallySchema.optional(),
  /** Static-analysis findings of script steps (single-plan reads and proposal answers). */
  findings: z.array(StepFindingSchema).optional(),
  // ---- previews (issue 17) ----
  /** What each previewed step's read-only preview showed, bound into `hash` (absent while previewing and on plans without previews). */
  previews: z.array(StepPreviewViewSchema).optional(),
});
export type PlanView = z.infer<typeof PlanViewSchema>;

/** A page of plans, newest first; `nextCursor` is null on the last page. */
export const PlanPageSchema = z.object({ plans: z.array(PlanViewSchema), nextCursor: z.string().nullable() });
export type PlanPage = z.infer<typeof PlanPageSchema>;
/** The review inbox: pending plans the caller may review and has not voted on. */
export const InboxSchema = z.object({ plans: z.array(PlanViewSchema) });
export type Inbox = z.infer<typeof InboxSchema>;

/** The answer to an approve or reject: the plan as it now is, and the tally after this vote. */
export const DecisionResultSchema = z.object({ plan: PlanViewSchema, tally: TallySchema });
export type DecisionResult = z.infer<typeof DecisionResultSchema>;

export function tallyFor(p: PlanRecord, votes: readonly ApprovalRecord[], now: Date): Tally {
  return tally({
    votes: votes.map((v) => ({
      reviewerId: v.reviewerId,
      decision: v.decision,
      planHash: v.planHash,
      groups: v.reviewerGroups,
      createdAt: v.createdAt,
    })),
    require: p.approval.require,
    planHash: p.hash,
    proposerId: p.proposerId,
    now,
    ttlHours: p.approval.ttlHours,
  });
}

export function toPlanView(p: PlanRecord, votes: readonly ApprovalRecord[] | null, now: Date): PlanView {
  const doc = parseStoredDocument(p.document);
  const view: PlanView = {
    id: p.id,
    hash: p.hash,
    status: p.status,
    statusReason: p.statusReason,
    risk: p.risk,
    riskReasons: p.riskReasons,
    environment: p.environment,
    intent: p.intent,
    source: p.source,
    proposer: p.proposerId,
    steps: doc.steps,
    rollback: doc.rollback,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    expiresAt: p.expiresAt,
    approval: p.approval,
  };
  if (doc.previews) view.previews = doc.previews.map((pv) => ({ ...pv, diff: looksLikeDiff(pv.output) }));
  if (votes) {
    view.approvals = votes.map((v) => ({
      reviewer: v.reviewerId,
      decision: v.decision,
      planHash: v.planHash,
      comment: v.comment,
      channel: v.channel,
      createdAt: v.createdAt,
    }));
    view.tally = tallyFor(p, votes, now);
  }
  return view;
}
