import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { notificationFor } from './events.ts';
import { routeEvent } from './routing.ts';

describe('which change raises which notification', () => {
  const at = new Date('2026-12-07T00:00:00Z');
  const cases: [string, string, Record<string, unknown>, string | null][] = [
    ['plan.propose', 'plan:p1', { status: 'pending_approval' }, 'plan.pending:plan:p1'],
    ['plan.propose', 'plan:p1', { status: 'approved' }, 'plan.approved:plan:p1'],
    ['plan.approve', 'plan:p1', { status: 'pending_approval' }, 'plan.seat_filled:plan:p1:alice'],
    ['plan.approve', 'plan:p1', { status: 'approved' }, 'plan.approved:plan:p1'],
    ['plan.reject', 'plan:p1', { status: 'rejected' }, 'plan.rejected:plan:p1'],
    ['plan.expire', 'plan:p1', {}, 'plan.expired:plan:p1'],
    ['plan.cancel', 'plan:p1', {}, 'plan.cancelled:plan:p1'],
    ['override.issue', 'override:o1', {}, 'override.issued:override:o1'],
    ['execution.finish', 'execution:e1', { plan: 'p1', execution: 'e1', status: 'succeeded' }, 'plan.executed:plan:p1:e1'],
    ['execution.finish', 'execution:e1', { plan: 'p1', execution: 'e1', status: 'rolled_back' }, 'plan.failed:plan:p1:e1'],
    ['execution.finish', 'execution:e1', { plan: 'p1', execution: 'e1', status: 'needs_attention' }, 'plan.needs_attention:plan:p1:e1'],
    ['plan.read', 'plan:p1', {}, null],
    ['key.create', 'principal:x', {}, null],
  ];
  for (const [operation, resource, details, key] of cases)
    test(`${operation} ${JSON.stringify(details)} → ${key ?? 'nothing'}`, () => {
      assert.equal(notificationFor({ operation, resource, details, actor: 'alice', at })?.dedupKey ?? null, key);
    });
});

describe('routing', () => {
  const routes = [
    { environments: ['prod'], groups: ['approvers'], channels: ['slack'] },
    { events: ['override.issued' as const], channels: ['siem'] },
    { risks: ['critical' as const], channels: ['pager', 'slack'] },
  ];
  test('an event goes to the union of the matching routes, each channel once', () => {
    assert.deepEqual(routeEvent(routes, { kind: 'plan.pending', environment: 'prod', risk: 'critical', groups: ['approvers'] }), [
      'slack',
      'pager',
    ]);
    assert.deepEqual(routeEvent(routes, { kind: 'plan.pending', environment: 'prod', risk: 'low', groups: ['sre'] }), []);
    assert.deepEqual(routeEvent(routes, { kind: 'override.issued', environment: 'prod', groups: [] }), ['siem']);
    assert.deepEqual(
      routeEvent(routes, { kind: 'plan.pending', groups: ['approvers'] }),
      [],
      'an unknown environment matches no environment filter',
    );
  });
});
