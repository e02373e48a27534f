import { z } from 'zod';

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
