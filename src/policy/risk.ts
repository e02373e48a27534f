import { MANY_TARGETS, RISK_LEVELS, type Risk, type ToolManifest } from '../tools/index.ts';

export { MANY_TARGETS };

export interface RiskStep {
  manifest: ToolManifest;
  action: string;
  input: Record<string, unknown>;
}

export interface RiskAssessment {
  risk: Risk;
  /** One line per step saying why it got its level, for reviewers. */
  reasons: string[];
}

/** Environments whose every step is raised one level. */
export const RAISED_ENVIRONMENTS: ReadonlySet<string> = new Set(['prod', 'production']);

/** One level up (or more), never past critical. */
export function raise(r: Risk, by = 1): Risk {
  const i = Math.min(RISK_LEVELS.indexOf(r) + by, RISK_LEVELS.length - 1);
  return RISK_LEVELS[i] ?? 'critical';
}

/**
 * Risk from steps, never from words (invariant 6): each step starts at its action's base risk and
 * is raised by environment, destructive flag and target count; the plan takes the highest step.
 * The intent text is not an input to this function on purpose.
 */
export function assessRisk(environment: string, steps: readonly RiskStep[], floors: readonly Risk[] = []): RiskAssessment {
  let planRisk: Risk = 'low';
  const reasons: string[] = [];
  steps.forEach((step, i) => {
    const action = step.manifest.actions[step.action];
    if (!action) {
      // Unknown actions never reach here (validated first); if one does, treat it as the worst case.
      planRisk = 'critical';
      reasons.push(`step ${i + 1}: unknown action, critical`);
      return;
    }
    let r = action.risk;
    const why = [`${step.manifest.name}.${step.action} base ${action.risk}`];
    if (action.destructive) {
      r = raise(r);
      why.push('destructive +1');
    }
    if (action.targets) {
      const t = step.input[action.targets];
      const count = Array.isArray(t) ? t.length : 0;
      if (count > MANY_TARGETS) {
        r = raise(r);
        why.push(`${count} targets +1`);
      }
    }
    if (RAISED_ENVIRONMENTS.has(environment)) {
      r = raise(r);
      why.push(`${environment} +1`);
    }
    reasons.push(`step ${i + 1}: ${why.join(', ')} = ${r}`);
    if (RISK_LEVELS.indexOf(r) > RISK_LEVELS.indexOf(planRisk)) planRisk = r;
  });
  for (const f of floors) if (RISK_LEVELS.indexOf(f) > RISK_LEVELS.indexOf(planRisk)) planRisk = f;
  return { risk: planRisk, reasons };
}
