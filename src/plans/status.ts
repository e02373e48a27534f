import { CountersignError } from '../errors/index.ts';

import { PLAN_STATUSES, type PlanStatus } from '../store/index.ts';

export { PLAN_STATUSES, type PlanStatus };

/** The only moves a plan can make (DESIGN.md "Plan status"). Everything else is refused. */
const TRANSITIONS: Readonly<Record<PlanStatus, readonly PlanStatus[]>> = {
  pending_approval: ['approved', 'rejected', 'expired', 'cancelled'],
  approved: ['executing'],
  executing: ['succeeded', 'failed', 'rolled_back', 'needs_attention'],
  rejected: [],
  expired: [],
  cancelled: [],
  succeeded: [],
  failed: [],
  rolled_back: [],
  needs_attention: [],
};

export function canTransition(from: PlanStatus, to: PlanStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: PlanStatus, to: PlanStatus): void {
  if (!canTransition(from, to)) {
    throw new CountersignError('PLAN_INVALID_TRANSITION', `a plan cannot move from ${from} to ${to}`, { details: { from, to } });
  }
}

export function isTerminal(status: PlanStatus): boolean {
  return TRANSITIONS[status].length === 0;
}
