import type { TenantScope } from '../store/index.ts';

/** What reviewers and operators hear about. */
export const NOTIFICATION_KINDS = [
  'plan.pending',
  'plan.seat_filled',
  'plan.approved',
  'plan.rejected',
  'plan.expired',
  'plan.cancelled',
  'plan.executed',
  'plan.failed',
  'plan.needs_attention',
  'override.issued',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** A change as the pipeline (or the executor) audits it: the operation, what it changed, its details. */
export interface ChangeReport {
  operation: string;
  /** `plan:<id>`, `override:<id>`, … as in the audit entry. */
  resource: string;
  details: Record<string, unknown>;
  actor: string;
  at: Date;
}

const EXECUTION_OUTCOME: Record<string, NotificationKind> = {
  succeeded: 'plan.executed',
  failed: 'plan.failed',
  rolled_back: 'plan.failed',
  needs_attention: 'plan.needs_attention',
};

function reviewKind(status: unknown): NotificationKind {
  if (status === 'approved') return 'plan.approved';
  if (status === 'rejected') return 'plan.rejected';
  return 'plan.seat_filled';
}

/** The notification a change raises, if any: pure, so the mapping is tested as a table. */
export function notificationFor(c: ChangeReport): { kind: NotificationKind; subject: string; dedupKey: string } | null {
  const d = c.details;
  let kind: NotificationKind | null = null;
  let subject = c.resource;
  let distinct = '';
  switch (c.operation) {
    case 'plan.propose':
      kind = d.status === 'pending_approval' ? 'plan.pending' : d.status === 'approved' ? 'plan.approved' : null;
      break;
    case 'plan.approve':
    case 'plan.reject':
      kind = reviewKind(d.status);
      if (kind === 'plan.seat_filled') distinct = c.actor;
      break;
    // previews (issue 17): review opens when the previews are attached, again after a stale step (one per content).
    case 'plan.preview':
      kind =
        d.status === 'pending_approval'
          ? 'plan.pending'
          : d.status === 'approved'
            ? 'plan.approved'
            : d.status === 'rejected'
              ? 'plan.rejected'
              : null;
      distinct = String(d.hash ?? '');
      break;
    case 'plan.expire':
      kind = 'plan.expired';
      break;
    case 'plan.cancel':
      kind = 'plan.cancelled';
      break;
    case 'override.issue':
      kind = 'override.issued';
      break;
    case 'execution.finish':
      kind = EXECUTION_OUTCOME[String(d.status)] ?? null;
      subject = `plan:${String(d.plan)}`;
      distinct = String(d.execution ?? '');
      break;
  }
  if (!kind || !/^(plan|override):/.test(subject)) return null;
  return { kind, subject, dedupKey: `${kind}:${subject}${distinct ? `:${distinct}` : ''}` };
}

/**
 * Writes the notification a change raises into the outbox, in the caller's transaction: the
 * change and its notification commit together or not at all, and sending happens later, in the
 * dispatcher, never in the request path.
 */
export async function recordNotification(tx: TenantScope, c: ChangeReport, newId: (prefix: string) => string): Promise<void> {
  const n = notificationFor(c);
  if (!n) return;
  const payload: Record<string, unknown> = { actor: c.actor };
  for (const k of ['status', 'decision', 'reason', 'environment', 'expiresAt', 'execution', 'risk'])
    if (c.details[k] !== undefined) payload[k] = c.details[k];
  await tx.notifications.enqueue({
    id: newId('ntf'),
    kind: n.kind,
    subject: n.subject,
    dedupKey: n.dedupKey,
    payload,
    createdAt: c.at.toISOString(),
  });
}
