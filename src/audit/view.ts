import { z } from 'zod';
import type { AuditRecord } from './chain.ts';
import { type AuditAction, type AuditOutcome, auditCode } from './events.ts';

/** An audit entry as the API shows it: its chain hashes let a reader check the sequence. */
export const AuditEntryViewSchema = z.object({
  seq: z.number().int(),
  ts: z.string(),
  /** Stable code of the action and outcome (src/audit/events.ts). */
  code: z.string(),
  actor: z.string(),
  action: z.string(),
  outcome: z.string(),
  resource: z.string(),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEntryView = z.infer<typeof AuditEntryViewSchema>;

/** A page of audit entries; `next` is the cursor (`after`) of the next page, null at the end. */
export const AuditPageSchema = z.object({ entries: z.array(AuditEntryViewSchema), next: z.number().int().nullable() });
export type AuditPage = z.infer<typeof AuditPageSchema>;

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
