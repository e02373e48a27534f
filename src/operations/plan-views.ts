import { analyzePlanScripts, type PlanView, renderedCommand, type StepView, toPlanView } from '../plans/index.ts';
import type { ApprovalRecord, PlanRecord, TenantScope } from '../store/index.ts';
import type { ToolRegistry } from '../tools/index.ts';
import type { ToolTrustGate } from '../trust/index.ts';

/**
 * A plan as reviewers see it: every step with the exact command line it renders to, and a mark
 * when a tool lacks the signatures its environment requires (developmentMode only).
 */
export function reviewerView(
  deps: { tools: ToolRegistry; toolTrust: ToolTrustGate },
  plan: PlanRecord,
  votes: readonly ApprovalRecord[] | null,
  now: Date,
): PlanView {
  const view = toPlanView(plan, votes, now);
  const render = (s: StepView): StepView => {
    const r = renderedCommand(deps.tools, s);
    return r.note ? { ...s, argv: r.argv, argvNote: r.note } : { ...s, argv: r.argv };
  };
  const unsigned = deps.toolTrust.unsignedIn(
    view.environment,
    [...view.steps, ...view.rollback].map((s) => s.tool),
  );
  return {
    ...view,
    steps: view.steps.map(render),
    rollback: view.rollback.map(render),
    ...(unsigned.length > 0 ? { unsignedTools: true } : {}),
  };
}

/** The reviewer's view plus script findings, recomputed from the stored steps on every read. */
export async function reviewerViewWithFindings(
  deps: { tools: ToolRegistry; toolTrust: ToolTrustGate },
  plan: PlanRecord,
  votes: readonly ApprovalRecord[],
  now: Date,
): Promise<PlanView> {
  const view = reviewerView(deps, plan, votes, now);
  const analysis = await analyzePlanScripts(deps.tools, view.steps, view.rollback);
  return { ...view, findings: analysis.findings };
}

/**
 * Names beside ids (issue: identity by name): every plan view and review of the answer gets the
 * proposer's and reviewer's principal names, read once per answer from the tenant's directory.
 */
export async function withNames<T extends PlanView>(tx: TenantScope, views: T[]): Promise<T[]> {
  if (views.length === 0) return views;
  const names = new Map((await tx.directory.listPrincipals()).map((p) => [p.id, p.name]));
  return views.map((v) => ({
    ...v,
    ...(names.has(v.proposer) ? { proposerName: names.get(v.proposer) } : {}),
    ...(v.approvals
      ? { approvals: v.approvals.map((a) => (names.has(a.reviewer) ? { ...a, reviewerName: names.get(a.reviewer) } : a)) }
      : {}),
  }));
}
