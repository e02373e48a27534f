import type { OverrideRecord } from '../store/index.ts';
import type { OverrideDocument } from './document.ts';

export interface StepRef {
  tool: string;
  action: string;
}

/**
 * Pure: why a plan is outside an override's scope, or null when every step (rollback included:
 * it runs too) is inside. Narrow by design: no wildcards; tool AND action must each be named.
 */
export function outOfScope(doc: OverrideDocument, plan: { tenant: string; environment: string; steps: readonly StepRef[] }): string | null {
  if (doc.tenant !== plan.tenant) return 'the override belongs to another tenant';
  if (doc.environment !== plan.environment) {
    return `the override is for environment ${doc.environment}, the plan runs in ${plan.environment}`;
  }
  for (const s of plan.steps) {
    if (!doc.tools.includes(s.tool)) return `step ${s.tool}.${s.action}: tool ${s.tool} is outside the override's scope`;
    if (!doc.actions.includes(s.action)) return `step ${s.tool}.${s.action}: action ${s.action} is outside the override's scope`;
  }
  return null;
}

export type OverrideStatus = 'active' | 'used' | 'revoked' | 'expired';

export function overrideStatus(o: Pick<OverrideRecord, 'revokedAt' | 'consumedAt' | 'expiresAt'>, now: Date): OverrideStatus {
  if (o.revokedAt) return 'revoked';
  if (o.consumedAt) return 'used';
  if (now.getTime() >= Date.parse(o.expiresAt)) return 'expired';
  return 'active';
}
