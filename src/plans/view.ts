import { type Tally, tally } from '../approvals/tally.ts';
import type { ApprovalRecord, PlanRecord, StoredApprovalRequirement } from '../store/index.ts';
import { type PlanDocument, parseStoredDocument } from './document.ts';
import type { StepFinding } from './findings.ts';

export interface ApprovalView {
  reviewer: string;
  decision: 'approve' | 'reject';
  planHash: string;
  comment: string;
  channel: string;
  createdAt: string;
}

/** A step as stored, plus the command line it renders to (filled in by the plan service). */
export type StepView = PlanDocument['steps'][number] & { argv?: string[] | null; argvNote?: string };

/** What the API and CLI show of a plan. */
export interface PlanView {
  id: string;
  hash: string;
  status: string;
  statusReason: string | null;
  risk: string;
  riskReasons: string[];
  environment: string;
  intent: string;
  source: string;
  proposer: string;
  steps: StepView[];
  rollback: StepView[];
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
  approval: StoredApprovalRequirement;
  /** True when a step's tool lacks the signatures its environment requires (developmentMode only). */
  unsignedTools?: boolean;
  /** Present when votes were loaded (single-plan reads): approvals so far and what is missing. */
  approvals?: ApprovalView[];
  tally?: Tally;
  /** Static-analysis findings of script steps (single-plan reads and proposal answers). */
  findings?: StepFinding[];
}

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
