import { requiresStepUp, type StepUpSettings } from '../approvals/index.ts';
import { looksLikeDiff, parseStoredDocument, tallyFor } from '../plans/index.ts';
import { redactCredentialShapes } from '../secrets/index.ts';
import type { OutboxRow, TenantScope } from '../store/index.ts';
import type { NotificationKind } from './events.ts';

/** A plan as a message shows it now: seats, reviews and outcome are read at send time. */
export interface PlanState {
  id: string;
  hash: string;
  intent: string;
  environment: string;
  risk: string;
  status: string;
  statusReason: string | null;
  proposerId: string;
  proposerName: string;
  requiredGroups: string[];
  seats: { group: string; have: number; count: number }[];
  reviews: { reviewerId: string; name: string; decision: string; comment: string; channel: string }[];
  expiresAt: string | null;
  stepUp: boolean;
  // ---- previews (issue 17) ----
  /** Each step's preview: its status and a short excerpt (the whole output is on the console page). */
  previews: { step: number; action: string; status: string; excerpt: string }[];
}

/** Lines and characters of a preview's output a chat message shows. */
const EXCERPT_LINES = 4;
const EXCERPT_CHARS = 300;

/** The first lines of a preview; of a unified diff, its first changed lines (headers and context left out). */
function excerptOf(text: string): string {
  const all = text.replace(/\n$/, '').split('\n');
  const lines = looksLikeDiff(text) ? all.filter((l) => /^[+-](?![+-]{2} )/.test(l)) : all;
  const cut = lines.slice(0, EXCERPT_LINES).join('\n');
  const short = cut.length > EXCERPT_CHARS ? `${cut.slice(0, EXCERPT_CHARS)}…` : cut;
  return lines.length > EXCERPT_LINES && !short.endsWith('…') ? `${short}\n…` : short;
}

/** A platform-neutral notification: each channel renders it its own way. */
export interface Notice {
  eventId: string;
  kind: NotificationKind;
  tenantId: string;
  subject: string;
  at: string;
  headline: string;
  lines: string[];
  url: string | null;
  plan: PlanState | null;
  payload: Record<string, unknown>;
}

const HEADLINES: Record<NotificationKind, string> = {
  'plan.pending': 'needs review',
  'plan.seat_filled': 'review recorded',
  'plan.approved': 'approved',
  'plan.rejected': 'rejected',
  'plan.expired': 'expired without a decision',
  'plan.cancelled': 'cancelled',
  'plan.executed': 'executed successfully',
  'plan.failed': 'execution failed',
  'plan.needs_attention': 'needs attention',
  'override.issued': 'BREAK-GLASS override issued',
};

export async function planState(scope: TenantScope, planId: string, now: Date, stepUp: StepUpSettings): Promise<PlanState | null> {
  const plan = await scope.plans.get(planId);
  if (!plan) return null;
  const votes = await scope.approvals.forPlan(plan.id);
  const t = tallyFor(plan, votes, now);
  const names = new Map<string, string>();
  for (const id of new Set([plan.proposerId, ...votes.map((v) => v.reviewerId)]))
    names.set(id, (await scope.directory.getPrincipal(id))?.name ?? id);
  return {
    id: plan.id,
    hash: plan.hash,
    intent: plan.intent,
    environment: plan.environment,
    risk: plan.risk,
    status: plan.status,
    statusReason: plan.statusReason,
    proposerId: plan.proposerId,
    proposerName: names.get(plan.proposerId) ?? plan.proposerId,
    requiredGroups: plan.approval.require.map((r) => r.group),
    seats: t.requirements,
    reviews: votes.map((v) => ({
      reviewerId: v.reviewerId,
      name: names.get(v.reviewerId) ?? v.reviewerId,
      decision: v.decision,
      comment: v.comment,
      channel: v.channel,
    })),
    expiresAt: plan.expiresAt,
    stepUp: requiresStepUp(plan, stepUp),
    previews: (parseStoredDocument(plan.document).previews ?? []).map((p) => ({
      step: p.step,
      action: `${p.tool}.${p.action}`,
      status: p.status,
      excerpt: excerptOf(p.status === 'ok' ? p.output : `${p.output}${p.errors}`),
    })),
  };
}

/** Builds the notice for an outbox event; plan events read the plan as it is now. */
export async function renderNotice(
  scope: TenantScope,
  event: OutboxRow,
  options: { now: Date; consoleUrl?: string; stepUp: StepUpSettings },
): Promise<Notice> {
  const payload = JSON.parse(event.payload) as Record<string, unknown>;
  const kind = event.kind as NotificationKind;
  const [type, id = ''] = event.subject.split(':');
  const plan = type === 'plan' ? await planState(scope, id, options.now, options.stepUp) : null;
  const base = options.consoleUrl?.replace(/\/+$/, '');
  const url = base ? `${base}/${type === 'plan' ? 'plans' : 'overrides'}/${id}` : null;
  const lines: string[] = [];
  let headline: string;
  if (plan) {
    headline = `Plan ${plan.id} (${plan.environment}, ${plan.risk} risk): ${HEADLINES[kind]}`;
    lines.push(`Intent: ${plan.intent}`, `Proposed by ${plan.proposerName}; hash ${plan.hash.slice(0, 12)}…`);
    lines.push(`Seats: ${plan.seats.map((s) => `${s.group} ${s.have}/${s.count}`).join(', ') || 'none required'}`);
    for (const r of plan.reviews)
      lines.push(`${r.decision === 'approve' ? 'Approved' : 'Rejected'} by ${r.name} (${r.channel})${r.comment ? `: ${r.comment}` : ''}`);
    for (const p of plan.previews)
      lines.push(
        `Preview of step ${p.step + 1} (${p.action}): ${p.status === 'ok' ? 'ok' : p.status.toUpperCase()}${p.excerpt ? `\n${p.excerpt}` : ''}${url ? `\nFull preview: ${url}` : ''}`,
      );
    lines.push(`Status: ${plan.status}${plan.statusReason ? ` (${plan.statusReason})` : ''}`);
    if (plan.status === 'pending_approval' && plan.stepUp)
      lines.push(`Approval needs step-up: approve it in the console${url ? ` at ${url}` : ''}, not from chat.`);
  } else {
    headline = `${HEADLINES[kind]}: ${event.subject}`;
    if (payload.environment) lines.push(`Environment: ${String(payload.environment)}`);
    if (payload.reason) lines.push(`Reason: ${String(payload.reason)}`);
    if (payload.expiresAt) lines.push(`Expires: ${String(payload.expiresAt)}`);
    lines.push(`By: ${String(payload.actor ?? '-')}`);
  }
  // Intents, comments and reasons are typed by people and may hold a pasted credential (invariant 12).
  return {
    eventId: event.id,
    kind,
    tenantId: event.tenant_id,
    subject: event.subject,
    at: event.created_at,
    headline: redactCredentialShapes(headline),
    lines: lines.map((l) => redactCredentialShapes(l)),
    url,
    plan,
    payload,
  };
}
