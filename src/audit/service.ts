import { z } from 'zod';
import { parseOrThrow } from '../plans/service.ts';
import { type PrivilegeDeps, requireRead } from '../policy/require-privilege.ts';
import type { Principal } from '../policy/types.ts';
import type { AuditRecord } from './chain.ts';
import { type AuditAction, type AuditOutcome, auditCode } from './events.ts';
import type { AuditEntryView } from './view.ts';

export const ListAuditQuerySchema = z
  .object({
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export type { AuditEntryView } from './view.ts';

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

/** The caller's tenant's audit entries, paged by sequence number. */
export class AuditService {
  constructor(private readonly deps: PrivilegeDeps) {}

  async list(principal: Principal, query: unknown): Promise<{ entries: AuditEntryView[]; next: number | null }> {
    const q = parseOrThrow(ListAuditQuerySchema, query, 'query');
    await requireRead(this.deps, principal, 'audit.read', { type: 'Tenant', id: principal.tenantId, tenantId: principal.tenantId });
    const rows = await this.deps.store.scope(principal.tenantId).listAudit(q.after, q.limit);
    const last = rows.at(-1);
    return { entries: rows.map(toAuditView), next: rows.length === q.limit && last ? last.seq : null };
  }
}
