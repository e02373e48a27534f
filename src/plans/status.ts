import { CountersignError } from '../errors/index.ts';

import { PLAN_STATUSES, type PlanStatus } from '../store/index.ts';

export { PLAN_STATUSES, type PlanStatus };

/** The only moves a plan can make (DESIGN.md "Plan status"). Everything else is refused. */
const TRANSITIONS: Readonly<Record<PlanStatus, readonly PlanStatus[]>> = {
  pending_approval: ['approved', 'rejected', 'expired', 'cancelled'],
  approved: ['executing'],
  // previews (issue 17): a stale first step sends the plan back to be previewed and reviewed again.
  executing: ['succeeded', 'failed', 'rolled_back', 'needs_attention', 'previewing'],
  rejected: [],
  expired: [],
  cancelled: [],
  succeeded: [],
  failed: [],
  rolled_back: [],
  needs_attention: [],
  // previews (issue 17): attached previews open review (or approve by an auto rule, or refuse when no rule covers the raised risk);
  // a plan whose previews never came expires like one nobody reviewed.
  previewing: ['pending_approval', 'approved', 'rejected', 'cancelled', 'expired'],
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
