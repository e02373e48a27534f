import type { Kysely } from 'kysely';
import type { PlanSource } from '../../policy/index.ts';
import type { Risk } from '../../tools/index.ts';
import { type Engine, Precompiled } from '../precompiled.ts';
import type { Database } from '../schema.ts';

/** Every status a plan can have; the moves between them are plans/status.ts's (the status machine). */
export const PLAN_STATUSES = [
  'pending_approval',
  'approved',
  'rejected',
  'expired',
  'cancelled',
  'executing',
  'succeeded',
  'failed',
  'rolled_back',
  'needs_attention',
  // ---- previews (issue 17) ----
  /** Waiting for the executor to run its steps' previews: nobody can review it yet. */
  'previewing',
] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

export interface PlanRecord {
  tenantId: string;
  id: string;
  environment: string;
  intent: string;
  /** The canonical JSON text that was hashed. */
  document: string;
  hash: string;
  risk: Risk;
  riskReasons: string[];
  status: PlanStatus;
  statusReason: string | null;
  source: PlanSource;
  proposerId: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
  /** What the plan needs before it may run, fixed at proposal (rules matched, groups, counts). */
  approval: StoredApprovalRequirement;
  /** The server's seal over the facts the hashed document does not fix (see plans/lifecycle.ts). */
  seal: string | null;
  /** The proposing request's W3C traceparent, linked from approvals and the execution; absent without tracing. */
  traceContext?: string | null;
}

export interface StoredApprovalRequirement {
  rules: string[];
  autoApproved: boolean;
  require: { group: string; count: number }[];
  ttlHours: number;
}

function toRecord(r: Database['plans']): PlanRecord {
  return {
    tenantId: r.tenant_id,
    id: r.id,
    environment: r.environment,
    intent: r.intent,
    document: r.document,
    hash: r.hash,
    risk: r.risk as Risk,
    riskReasons: JSON.parse(r.risk_reasons) as string[],
    status: r.status as PlanStatus,
    statusReason: r.status_reason,
    source: r.source as PlanSource,
    proposerId: r.proposer_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    expiresAt: r.expires_at,
    approval: JSON.parse(r.approval) as StoredApprovalRequirement,
    seal: r.seal,
    ...(r.trace_context ? { traceContext: r.trace_context } : {}),
  };
}

export interface PlanPage {
  plans: PlanRecord[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** Plans of one tenant. Every query carries `tenant_id` (invariant 18). */
const PLAN_COLUMNS = [
  'tenant_id',
  'id',
  'environment',
  'intent',
  'document',
  'hash',
  'risk',
  'risk_reasons',
  'status',
  'status_reason',
  'source',
  'proposer_id',
  'created_at',
  'updated_at',
  'expires_at',
  'approval',
  'seal',
  'trace_context',
] as const;

type PlanRow = Required<Database['plans']>;

/** Every proposal inserts one plan: compiled once (see Precompiled). */
const PLAN_INSERT = new Precompiled<Pick<PlanRow, (typeof PLAN_COLUMNS)[number]>>(
  (db, param) => db.insertInto('plans').values(Object.fromEntries(PLAN_COLUMNS.map((c) => [c, param(c)])) as unknown as PlanRow),
  { prepared: true },
);

export class PlansRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly tenantId: string,
    private readonly engine: Engine,
  ) {}

  async insert(p: PlanRecord): Promise<void> {
    await PLAN_INSERT.run(this.db, this.engine, {
      tenant_id: this.tenantId,
      id: p.id,
      environment: p.environment,
      intent: p.intent,
      document: p.document,
      hash: p.hash,
      risk: p.risk,
      risk_reasons: JSON.stringify(p.riskReasons),
      status: p.status,
      status_reason: p.statusReason,
      source: p.source,
      proposer_id: p.proposerId,
      created_at: p.createdAt,
      updated_at: p.updatedAt,
      expires_at: p.expiresAt,
      approval: JSON.stringify(p.approval),
      seal: p.seal,
      trace_context: p.traceContext || null,
    });
  }

  async get(id: string): Promise<PlanRecord | undefined> {
    const row = await this.db
      .selectFrom('plans')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** Newest first, keyset-paged on (created_at, id). */
  async list(options: { limit: number; cursor?: string; status?: PlanStatus; environment?: string }): Promise<PlanPage> {
    let q = this.db.selectFrom('plans').selectAll().where('tenant_id', '=', this.tenantId);
    if (options.status) q = q.where('status', '=', options.status);
    if (options.environment) q = q.where('environment', '=', options.environment);
    if (options.cursor) {
      const [createdAt, id] = decodeCursor(options.cursor);
      q = q.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]));
    }
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(options.limit + 1)
      .execute();
    const page = rows.slice(0, options.limit).map(toRecord);
    const last = page.at(-1);
    return { plans: page, nextCursor: rows.length > options.limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  /**
   * Plans whose time is up, for the expiry sweeper: pending past their expiry, and previewing since before `previewingBefore`
   * (see previewOverdue in plans/lifecycle.ts).
   */
  async listExpired(now: string, previewingBefore: string, limit: number): Promise<PlanRecord[]> {
    const rows = await this.db
      .selectFrom('plans')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'pending_approval'), eb('expires_at', '<', now)]),
          eb.and([eb('status', '=', 'previewing'), eb('updated_at', '<', previewingBefore)]),
        ]),
      )
      .limit(limit)
      .execute();
    return rows.map(toRecord);
  }

  /**
   * Compare-and-set on status: the update applies only if the plan is still in `from`, so two
   * racing transitions cannot both win. Content columns are never updated (plans are immutable).
   */
  async setStatus(id: string, from: PlanStatus, to: PlanStatus, at: string, reason: string | null = null): Promise<boolean> {
    const res = await this.db
      .updateTable('plans')
      .set({ status: to, status_reason: reason, updated_at: at })
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', id)
      .where('status', '=', from)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  // ---- previews (issue 17) ----
  /**
   * The one change of content a plan ever sees: its steps' previews are attached to its hashed
   * document while it is `previewing` (the only status in which no review can exist), with the
   * hash, risk, requirement, expiry and seal that follow from them. Compare-and-set on status and
   * on the hash the previews were run for.
   */
  async attachPreviews(
    id: string,
    fromHash: string,
    next: Pick<
      PlanRecord,
      'document' | 'hash' | 'risk' | 'riskReasons' | 'approval' | 'expiresAt' | 'seal' | 'status' | 'statusReason' | 'updatedAt'
    >,
  ): Promise<boolean> {
    const res = await this.db
      .updateTable('plans')
      .set({
        document: next.document,
        hash: next.hash,
        risk: next.risk,
        risk_reasons: JSON.stringify(next.riskReasons),
        approval: JSON.stringify(next.approval),
        expires_at: next.expiresAt,
        seal: next.seal,
        status: next.status,
        status_reason: next.statusReason,
        updated_at: next.updatedAt,
      })
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', id)
      .where('status', '=', 'previewing')
      .where('hash', '=', fromHash)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}

export function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    // fall through to the refusal below
  }
  throw new RangeError('invalid cursor');
}
