import type { AuditRecord } from './chain.ts';
import { type AuditAction, type AuditOutcome, auditCode } from './events.ts';

export interface AuditEntryView {
  seq: number;
  ts: string;
  code: string;
  actor: string;
  action: string;
  outcome: string;
  resource: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export function toAuditView(r: AuditRecord): AuditEntryView {
  return {
    seq: r.seq,
    ts: r.ts,
    code: auditCode(r.action as AuditAction, r.outcome as AuditOutcome),
    actor: r.actor,
    action: r.action,
    outcome: r.outcome,
    resource: r.resource,
    details: JSON.parse(r.details) as Record<string, unknown>,
    prevHash: r.prevHash,
    hash: r.hash,
  };
}
