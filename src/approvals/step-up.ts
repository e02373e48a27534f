/**
 * Plans whose approval needs step-up (the console's WebAuthn): high and critical risk always,
 * and every plan of an environment configured to need it. A chat account cannot step up, so
 * such a plan is never approved from chat (issue 14: no weaker path).
 */
export function requiresStepUp(plan: { risk: string; environment: string }, stepUpEnvironments: readonly string[]): boolean {
  return plan.risk === 'high' || plan.risk === 'critical' || stepUpEnvironments.includes(plan.environment);
}
