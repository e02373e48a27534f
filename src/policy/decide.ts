import type { Authorizer, AuthzRequest, Decision, Denial, PrivilegedAction } from './types.ts';
import { HOST_ACTIONS } from './types.ts';

const REVIEW_ACTIONS: readonly PrivilegedAction[] = ['plan.approve', 'plan.reject'];

/**
 * The rules that hold whatever the Cedar policies say. Pure; each returns a tagged denial or
 * null. They run before Cedar, in the server and in `policy test` alike (one implementation),
 * so a policy edited to permit one of these still cannot.
 */
const CODE_RULES: readonly ((request: AuthzRequest) => Denial | null)[] = [
  // Host operator actions come only from the host (a `system` principal built in-process, never
  // from a credential); a system principal does nothing else.
  (r) => {
    const host = HOST_ACTIONS.includes(r.action);
    const system = r.principal.authMethod === 'system';
    if (host && !system) return deny(`${r.action} is a host operator action; run it on the server host`, 'code:host-only');
    if (system && !host) return deny(`the system principal cannot ${r.action}`, 'code:host-only');
    return null;
  },
  // Separation of duties (invariant 5): only humans review, never their own plan; a plan
  // whose proposer is unknown cannot be reviewed at all.
  (r) => {
    if (!REVIEW_ACTIONS.includes(r.action)) return null;
    if (r.principal.kind !== 'human') return deny('only human principals review plans', 'code:only-humans-review');
    if (!r.resource.proposerId || r.resource.proposerId === r.principal.id) {
      return deny('separation of duties: the proposer cannot review their own plan', 'code:separation-of-duties');
    }
    return null;
  },
  // An emergency fix is cut short only by a person: the agents being governed cannot revoke it.
  (r) =>
    r.action === 'override.revoke' && r.principal.kind !== 'human'
      ? deny('only a human operator can revoke an override', 'code:humans-revoke-overrides')
      : null,
  // alerts: a webhook source proposes plans that stay external (never auto-approved, invariant
  // 6), cancels only its own, and does nothing else, whatever a policy permits.
  (r) => webhookSourceRule(r),
];

const EXTERNAL_PLAN_SOURCES: readonly string[] = ['webhook', 'planner'];

function webhookSourceRule(r: AuthzRequest): Denial | null {
  const webhook = r.principal.kind === 'webhook' || r.principal.authMethod === 'webhook_signature';
  if (!webhook) {
    return r.action === 'alert.receive' || r.action === 'alert.plan'
      ? deny('only a webhook source records alerts', 'code:webhook-source')
      : null;
  }
  if (r.principal.kind !== 'webhook' || r.principal.authMethod !== 'webhook_signature') {
    return deny('a webhook source is proven by its delivery signature only', 'code:webhook-source');
  }
  if (r.action === 'alert.receive' || r.action === 'alert.plan') return null;
  if (r.action === 'plan.propose') {
    if (r.resource.type === 'Plan' && !EXTERNAL_PLAN_SOURCES.includes(r.resource.source ?? '')) {
      return deny('a webhook source proposes only webhook plans', 'code:webhook-source');
    }
    return null;
  }
  if (r.action === 'plan.cancel' && r.resource.proposerId === r.principal.id) return null;
  return deny(`a webhook source cannot ${r.action}`, 'code:webhook-source');
}

function deny(reason: string, rule: string): Denial {
  return { allow: false, code: 'POLICY_DENIED', reasons: [reason], policies: [rule] };
}

/**
 * The one decision function (invariant 1): code rules, then Cedar, failing closed — an
 * authorizer that throws denies. The server's pipeline and `countersign policy test` both call
 * this, so what a test file says is what the server does.
 */
export function decideRequest(authorizer: Authorizer, request: AuthzRequest): Decision {
  for (const rule of CODE_RULES) {
    const denial = rule(request);
    if (denial) return denial;
  }
  try {
    return authorizer.authorize(request);
  } catch (err) {
    return { allow: false, code: 'POLICY_UNAVAILABLE', reasons: [`policy engine error: ${(err as Error).message}`] };
  }
}

/** True when a denial came from separation of duties (the API names it SELF_APPROVAL). */
export function isSelfApproval(decision: Denial): boolean {
  const p = decision.policies ?? [];
  return p.includes('code:separation-of-duties') || p.includes('separation-of-duties');
}
