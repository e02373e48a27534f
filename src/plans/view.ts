import type { PlanRecord } from '../store/index.ts';
import { type PlanDocument, parseStoredDocument } from './document.ts';

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
  steps: PlanDocument['steps'];
  rollback: PlanDocument['rollback'];
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
}

export function toPlanView(p: PlanRecord): PlanView {
  const doc = parseStoredDocument(p.document);
  return {
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
  };
}
