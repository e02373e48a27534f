import type { TenantScope } from '../store/index.ts';
import { chatCodeHash, newChatCode } from './codes.ts';
import type { PlanState } from './render.ts';

/** One reviewer's buttons: each a single-use code bound to plan hash, reviewer, chat account and expiry. */
export interface ReviewerButtons {
  reviewerName: string;
  /** Absent when the plan needs step-up: approval is then only possible in the console. */
  approve?: string;
  reject: string;
}

/** Buttons for at most this many reviewers: a message stays readable (Slack allows 25 elements a block). */
const MAX_REVIEWERS = 10;

/**
 * Mints fresh buttons for the linked reviewers who may still review this pending plan (a human
 * in a required group, not its proposer, not yet voted), retiring the buttons the message
 * showed before. Policy and the guards still decide each click: a button only names who may try.
 */
export async function mintButtons(
  scope: TenantScope,
  plan: PlanState,
  options: { channel: string; platform: 'slack' | 'telegram'; now: Date; ttlMinutes: number },
): Promise<ReviewerButtons[]> {
  const at = options.now.toISOString();
  await scope.chat.revokePlanButtons(plan.id, options.channel, at);
  if (plan.status !== 'pending_approval') return [];
  const links = await scope.chat.links({ platform: options.platform });
  const voted = new Set(plan.reviews.map((r) => r.reviewerId));
  const expiry = Math.min(
    options.now.getTime() + options.ttlMinutes * 60_000,
    plan.expiresAt ? Date.parse(plan.expiresAt) : Number.POSITIVE_INFINITY,
  );
  const expiresAt = new Date(expiry).toISOString();
  const out: ReviewerButtons[] = [];
  for (const link of links) {
    if (out.length >= MAX_REVIEWERS) break;
    if (link.principal_id === plan.proposerId || voted.has(link.principal_id)) continue;
    const p = await scope.directory.getPrincipal(link.principal_id);
    if (!p || p.disabled || p.kind !== 'human' || !p.groups.some((g) => plan.requiredGroups.includes(g))) continue;
    const mint = async (purpose: 'approve' | 'reject') => {
      const code = newChatCode();
      await scope.chat.insertCode({
        code_hash: chatCodeHash(code),
        purpose,
        principal_id: p.id,
        platform: options.platform,
        chat_user_id: link.chat_user_id,
        channel: options.channel,
        plan_id: plan.id,
        plan_hash: plan.hash,
        created_at: at,
        expires_at: expiresAt,
      });
      return code;
    };
    out.push({ reviewerName: p.name, ...(plan.stepUp ? {} : { approve: await mint('approve') }), reject: await mint('reject') });
  }
  return out;
}
