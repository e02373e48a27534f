/** The risks of a plan, as the console and every approval channel name them. */
export type StepUpRisk = 'low' | 'medium' | 'high' | 'critical';

/**
 * Which approvals need step-up (a WebAuthn assertion in the console bound to the plan hash): the
 * one setting every channel reads, so the console, chat, the CLI and the API cannot disagree.
 * Built from `console.stepUp` in countersign.yaml (and, for older files, the environments listed
 * under the notifications' `chat.stepUpEnvironments`, which need it at every risk).
 */
export interface StepUpSettings {
  /** Risks that need step-up, where an environment does not say otherwise. */
  risks: readonly StepUpRisk[];
  /** Per environment, the risks that need step-up (replaces `risks` there; [] turns it off). */
  environments: Readonly<Record<string, readonly StepUpRisk[]>>;
  /** Whether the console, the only place a reviewer can step up, is served. */
  consoleEnabled: boolean;
}

export const ALL_RISKS: readonly StepUpRisk[] = ['low', 'medium', 'high', 'critical'];

/** The default: high and critical risk, everywhere. */
export const DEFAULT_STEP_UP: StepUpSettings = { risks: ['high', 'critical'], environments: {}, consoleEnabled: true };

/** Whether approving this plan needs a step-up. */
export function requiresStepUp(plan: { risk: string; environment: string }, settings: StepUpSettings): boolean {
  return (settings.environments[plan.environment] ?? settings.risks).includes(plan.risk as StepUpRisk);
}

/** The settings from the console's `stepUp` section, widened by the environments chat lists. */
export function stepUpSettings(
  console: { enabled: boolean; stepUp: { risks: readonly StepUpRisk[]; environments: Readonly<Record<string, readonly StepUpRisk[]>> } },
  chatEnvironments: readonly string[] = [],
): StepUpSettings {
  const environments: Record<string, readonly StepUpRisk[]> = { ...console.stepUp.environments };
  for (const env of chatEnvironments) environments[env] = ALL_RISKS;
  return { risks: console.stepUp.risks, environments, consoleEnabled: console.enabled };
}
