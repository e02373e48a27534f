import type { Requirement } from './rules.ts';
import type { Tally } from './tally-view.ts';

export interface Vote {
  reviewerId: string;
  decision: 'approve' | 'reject';
  planHash: string;
  groups: readonly string[];
  createdAt: string;
}

export type { Tally } from './tally-view.ts';

/**
 * Counts approvals (invariant 5): only votes on the current hash, not expired, never the
 * proposer's, one per reviewer (their latest), and each reviewer fills at most one seat —
 * a person in both `sre` and `security` cannot satisfy "2 sre + 1 security" alone. Seats are
 * assigned by maximum bipartite matching so the count is the best possible, never inflated.
 */
export function tally(options: {
  votes: readonly Vote[];
  require: readonly Requirement[];
  planHash: string;
  proposerId: string;
  now: Date;
  ttlHours: number;
}): Tally {
  const cutoff = options.now.getTime() - options.ttlHours * 3_600_000;
  const latest = new Map<string, Vote>();
  for (const v of options.votes) {
    if (v.reviewerId === options.proposerId || v.planHash !== options.planHash) continue;
    if (Date.parse(v.createdAt) < cutoff) continue;
    const prev = latest.get(v.reviewerId);
    if (!prev || prev.createdAt <= v.createdAt) latest.set(v.reviewerId, v);
  }
  const requiredGroups = new Set(options.require.map((r) => r.group));
  const rejecter = [...latest.values()].find((v) => v.decision === 'reject' && v.groups.some((g) => requiredGroups.has(g)));
  const approvers = [...latest.values()].filter((v) => v.decision === 'approve');

  // Seats: one slot per required approval; reviewers match to slots of their groups.
  const seats = options.require.flatMap((r) => Array.from({ length: r.count }, () => r.group));
  const seatOwner: (number | null)[] = seats.map(() => null);
  const tryAssign = (reviewer: number, visited: Set<number>): boolean => {
    const groups = approvers[reviewer]?.groups ?? [];
    for (let s = 0; s < seats.length; s++) {
      if (visited.has(s) || !groups.includes(seats[s]!)) continue;
      visited.add(s);
      const owner = seatOwner[s];
      if (owner === null || owner === undefined || tryAssign(owner, visited)) {
        seatOwner[s] = reviewer;
        return true;
      }
    }
    return false;
  };
  for (let i = 0; i < approvers.length; i++) tryAssign(i, new Set());

  const requirements = options.require.map((r) => ({
    group: r.group,
    count: r.count,
    have: seats.filter((g, s) => g === r.group && seatOwner[s] !== null).length,
  }));
  const missing = requirements
    .filter((r) => r.have < r.count)
    .map((r) => `needs ${r.count - r.have} more approval${r.count - r.have > 1 ? 's' : ''} from group ${r.group}`);
  return {
    satisfied: !rejecter && missing.length === 0,
    rejectedBy: rejecter?.reviewerId ?? null,
    requirements,
    missing,
  };
}
