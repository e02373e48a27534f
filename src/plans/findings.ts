import { analyzeScript, type Finding } from '../analysis/index.ts';
import type { Risk, ToolRegistry } from '../tools/index.ts';
import { profileFor } from '../tools/index.ts';

/** A finding of the static analysis, placed on its step, as reviewers see it. */
export interface StepFinding extends Finding {
  phase: 'steps' | 'rollback';
  step: number;
}

export interface PlanFindings {
  findings: StepFinding[];
  floors: Risk[];
  deny: boolean;
}

interface StepLike {
  tool: string;
  action: string;
  input: Record<string, unknown>;
}

/**
 * Statically analyses every script step (tools of type `script`, whose `script` input is the
 * body). Pure with respect to the store: it may run before authorization, and its verdict is
 * applied inside the privileged action. Unknown tools are skipped here; validation refuses them.
 */
export async function analyzePlanScripts(
  tools: ToolRegistry,
  steps: readonly StepLike[],
  rollback: readonly StepLike[],
): Promise<PlanFindings> {
  const out: PlanFindings = { findings: [], floors: [], deny: false };
  const all = [...steps.map((s, i) => ['steps', i, s] as const), ...rollback.map((s, i) => ['rollback', i, s] as const)];
  for (const [phase, i, s] of all) {
    const tool = tools.get(s.tool);
    const action = tool?.manifest.actions[s.action];
    if (!tool || !action || tool.manifest.type !== 'script' || !action.language) continue;
    const script = s.input.script;
    if (typeof script !== 'string') continue;
    const report = await analyzeScript({ language: action.language, script, profile: profileFor(tool.manifest, s.action) });
    out.findings.push(...report.findings.map((f) => ({ ...f, phase, step: i })));
    out.floors.push(report.riskFloor);
    out.deny ||= report.deny;
  }
  return out;
}
