import { z } from 'zod';
import { type AuditEntryView, toAuditView } from '../audit/index.ts';
import { tenantResource } from './plans.ts';
import type { AnyOperation, Operation } from './types.ts';

export const ListAuditQuerySchema = z
  .object({
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export function auditOperations(): AnyOperation[] {
  const list: Operation<z.infer<typeof ListAuditQuerySchema>, null, { entries: AuditEntryView[]; next: number | null }> = {
    name: 'audit.list',
    action: 'audit.read',
    kind: 'read',
    summary: "The caller's tenant's audit entries, paged by sequence number.",
    input: ListAuditQuerySchema,
    load: async () => null,
    resource: (_l, _i, ctx) => tenantResource(ctx),
    act: async (tx, _l, q) => {
      const rows = await tx.listAudit(q.after, q.limit);
      const last = rows.at(-1);
      return { result: { entries: rows.map(toAuditView), next: rows.length === q.limit && last ? last.seq : null } };
    },
  };
  return [list];
}
