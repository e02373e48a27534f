import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export interface ApprovalRecord {
  id: string;
  planId: string;
  reviewerId: string;
  reviewerGroups: string[];
  decision: 'approve' | 'reject';
  planHash: string;
  comment: string;
  channel: string;
  createdAt: string;
  /** The server's seal over this review (see plans/lifecycle.ts). */
  seal: string | null;
}

function toRecord(r: Database['approvals']): ApprovalRecord {
  return {
    id: r.id,
    planId: r.plan_id,
    reviewerId: r.reviewer_id,
    reviewerGroups: JSON.parse(r.reviewer_groups) as string[],
    decision: r.decision,
    planHash: r.plan_hash,
    comment: r.comment,
    channel: r.channel,
    createdAt: r.created_at,
    seal: r.seal,
  };
}

/** Approvals and rejections of one tenant's plans; rows are never updated or deleted. */
export class ApprovalsRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly tenantId: string,
  ) {}

  async insert(a: ApprovalRecord): Promise<void> {
    await this.db
      .insertInto('approvals')
      .values({
        id: a.id,
        tenant_id: this.tenantId,
        plan_id: a.planId,
        reviewer_id: a.reviewerId,
        reviewer_groups: JSON.stringify(a.reviewerGroups),
        decision: a.decision,
        plan_hash: a.planHash,
        comment: a.comment,
        channel: a.channel,
        created_at: a.createdAt,
        seal: a.seal,
      })
      .execute();
  }

  async forPlan(planId: string): Promise<ApprovalRecord[]> {
    const rows = await this.db
      .selectFrom('approvals')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('plan_id', '=', planId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toRecord);
  }

  /** Plan ids (among `planIds`) this reviewer has already voted on. */
  async votedBy(reviewerId: string, planIds: readonly string[]): Promise<Set<string>> {
    if (planIds.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('approvals')
      .select('plan_id')
      .where('tenant_id', '=', this.tenantId)
      .where('reviewer_id', '=', reviewerId)
      .where('plan_id', 'in', planIds)
      .execute();
    return new Set(rows.map((r) => r.plan_id));
  }
}
