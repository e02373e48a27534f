import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertTransition, canTransition, PLAN_STATUSES, type PlanStatus } from './status.ts';

const ALLOWED: [PlanStatus, PlanStatus][] = [
  ['pending_approval', 'approved'],
  ['pending_approval', 'rejected'],
  ['pending_approval', 'expired'],
  ['pending_approval', 'cancelled'],
  ['approved', 'executing'],
  ['executing', 'succeeded'],
  ['executing', 'failed'],
  ['executing', 'rolled_back'],
  ['executing', 'needs_attention'],
  // ---- previews (issue 17) ----
  ['executing', 'previewing'],
  ['previewing', 'pending_approval'],
  ['previewing', 'approved'],
  ['previewing', 'rejected'],
  ['previewing', 'cancelled'],
  ['previewing', 'expired'],
];

test('allows exactly the transitions of the design and refuses every other pair', () => {
  for (const from of PLAN_STATUSES) {
    for (const to of PLAN_STATUSES) {
      const expected = ALLOWED.some(([f, t]) => f === from && t === to);
      assert.equal(canTransition(from, to), expected, `${from} → ${to}`);
      if (!expected) assert.throws(() => assertTransition(from, to), { code: 'PLAN_INVALID_TRANSITION' });
    }
  }
});

test('refuses skipping approval: pending_approval → executing', () => {
  assert.throws(() => assertTransition('pending_approval', 'executing'), /cannot move from pending_approval to executing/);
});
