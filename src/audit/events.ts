/**
 * Stable audit action codes, one place. Each action is recorded with an outcome; the code
 * pairs with the outcome's letter (I = allowed/succeeded, W = denied/failed) like `CS1001I`.
 */
export const AUDIT_ACTIONS = {
  'system.init': 'CS0001',
  'system.start': 'CS0002',
  'system.stop': 'CS0003',
  'auth.authenticate': 'CS0101',
  'plan.propose': 'CS1001',
  'plan.read': 'CS1002',
  'plan.approve': 'CS1003',
  'plan.reject': 'CS1004',
  'plan.cancel': 'CS1005',
  'plan.expire': 'CS1006',
  'plan.execute': 'CS1007',
  'plan.status': 'CS1008',
  'execution.read': 'CS2001',
  'execution.step': 'CS2002',
  'audit.read': 'CS3001',
  'principal.create': 'CS4001',
  'principal.read': 'CS4002',
  'principal.disable': 'CS4003',
  'principal.recover-admin': 'CS4004',
  'key.create': 'CS4101',
  'key.revoke': 'CS4102',
  'grant.revoke': 'CS5001',
  'grant.rotate': 'CS5002',
  'grant.issue': 'CS5003',
  'override.issue': 'CS6001',
  'override.use': 'CS6002',
  'override.revoke': 'CS6003',
  'override.key': 'CS6004',
  'trust.change': 'CS7001',
  'trust.bootstrap': 'CS7002',
  'policy.reload': 'CS7101',
  'tool.reload': 'CS7102',
  'policy.upgrade': 'CS7105',
  'audit.checkpoint': 'CS3002',
  'store.restore': 'CS0004',
  'environment.freeze': 'CS8001',
  'tenant.create': 'CS9001',
  'environment.create': 'CS9002',
  // alerts: deliveries, planner outcomes and model reviews
  'alert.receive': 'CS8101',
  'alert.plan': 'CS8102',
  'alert.review': 'CS8103',
  // ---- chat (issue 14) ----
  'chat.link': 'CS9101',
  'chat.callback': 'CS9102',
  // --- reviewer console (issue 13) ---
  'console.sign-in': 'CS0102',
  'console.sign-out': 'CS0103',
  'webauthn.register': 'CS0104',
  'webauthn.remove': 'CS0105',
  'webauthn.step-up': 'CS0106',
  // ---- replicas: SIGHUP reloads of countersign.yaml and the playbooks ----
  'config.reload': 'CS7103',
  'playbook.reload': 'CS7104',
  // ---- previews (issue 17) ----
  'plan.preview': 'CS1009',
  'plan.stale': 'CS1010',
} as const;
export type AuditAction = keyof typeof AUDIT_ACTIONS;

export const AUDIT_OUTCOMES = ['allowed', 'denied', 'succeeded', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export function auditCode(action: AuditAction, outcome: AuditOutcome): string {
  return `${AUDIT_ACTIONS[action]}${outcome === 'allowed' || outcome === 'succeeded' ? 'I' : 'W'}`;
}
