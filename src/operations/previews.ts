import { z } from 'zod';
import { requirementFor } from '../approvals/index.ts';
import { CountersignError } from '../errors/index.ts';
import {
  analyzePlanScripts,
  assertSealed,
  assertStatus,
  assertToolsUnchanged,
  attachPreviews,
  canonicalJson,
  intactDocument,
  type PlanStep,
  parsePreviewResults,
  previewedSteps,
  previewInput,
  previewOverdue,
  previewRisk,
  type StepPreview,
  sha256Hex,
  withPreviews,
} from '../plans/index.ts';
import { assessRisk } from '../policy/index.ts';
import type { PlanRecord } from '../store/index.ts';
import { RISK_LEVELS, type Risk } from '../tools/index.ts';
import type { OperationDeps } from './deps.ts';
import { loadPlan, PlanIdSchema, planResource } from './plans.ts';
import type { Operation } from './types.ts';

/**
 * Previews (issue 17), the API side. The API cannot run the sandbox: a plan whose steps have
 * previews is stored `previewing`, an executor runs them and hands the results over, and the
 * `plan.preview` host operation attaches them to the plan's hashed document, reseals it and opens
 * review (docs/previews.md).
 */

export const PREVIEWING_REASON = "waiting for the executor to run its steps' previews; it cannot be reviewed yet";

/**
 * At proposal: each previewed step's input, cut to the fields its preview declares, must satisfy
 * the preview action too (so the executor can render it). Returns whether any step has a preview.
 */
export function assertPreviewInputs(deps: Pick<OperationDeps, 'tools'>, steps: readonly PlanStep[]): boolean {
  const previewed = previewedSteps(deps.tools, steps);
  for (const p of previewed) {
    const validator = deps.tools.get(p.step.tool)?.validators.get(p.preview.action);
    const parsed = validator?.safeParse(previewInput(p.manifest, p.preview, p.step.input));
    if (!parsed?.success) {
      const issue = parsed?.error.issues[0];
      throw new CountersignError(
        'VALIDATION_FAILED',
        `steps[${p.idx}].input: the preview ${p.step.tool}.${p.preview.action} cannot take this input: ${issue?.message ?? 'unknown action'}`,
        { details: { field: `steps[${p.idx}].input` } },
      );
    }
  }
  return previewed.length > 0;
}

interface AttachLoad {
  plan: PlanRecord;
  previews: StepPreview[] | null;
  /** The highest risk policy let the proposer propose this plan at (recorded at proposal). */
  maxRisk: string;
}

/** Host operation: attaches the previews an executor ran to a `previewing` plan. */
export function previewOperation(deps: OperationDeps): Operation<{ planId: string }, AttachLoad, { status: string; hash: string }> {
  return {
    name: 'plan.preview',
    action: 'plan.preview',
    kind: 'mutation',
    summary: 'Attach the previews an executor ran to a previewing plan, bind them into its hash and open review (host, automatic).',
    input: z.object({ planId: PlanIdSchema }).strict(),
    load: async (tx, { planId }) => {
      const plan = await loadPlan(tx, planId);
      const job = await tx.previews.get(planId);
      // Results for another content (the plan changed since they were queued) are never attached.
      const ready = job?.state === 'ready' && job.planHash === plan.hash && job.results !== null;
      return { plan, previews: ready ? parsePreviewResults(job.results as string) : null, maxRisk: job?.maxRisk ?? 'low' };
    },
    resource: (l) => planResource(l.plan),
    guards: [
      (_tx, l) => assertStatus(l.plan, ['previewing'], 'only a previewing plan takes previews'),
      // Too late: the sweeper expires it (previews that come after the wait never open review).
      (_tx, l, _i, ctx) => {
        if (previewOverdue(l.plan, ctx.now, deps.pendingTtlHours)) {
          throw new CountersignError(
            'PLAN_EXPIRED',
            `plan ${l.plan.id} waited more than ${deps.pendingTtlHours} hours for its previews; it expires, propose it again`,
          );
        }
      },
      (_tx, l) => {
        if (!l.previews) throw new CountersignError('CONFLICT', `plan ${l.plan.id} has no preview results for its current content`);
      },
      (_tx, l) => {
        const doc = intactDocument(l.plan);
        assertSealed(l.plan, deps.grantKeys);
        assertToolsUnchanged(l.plan, doc, deps.tools);
        // Exactly one result per previewed step, for the preview action its manifest names.
        const want = previewedSteps(deps.tools, doc.steps).map((p) => `${p.idx}:${p.step.tool}.${p.preview.action}`);
        const got = (l.previews ?? []).map((p) => `${p.step}:${p.tool}.${p.action}`);
        if (want.join(',') !== got.join(',')) {
          throw new CountersignError(
            'VALIDATION_FAILED',
            `plan ${l.plan.id}: the preview results (${got.join(', ')}) are not its steps' previews (${want.join(', ')})`,
          );
        }
      },
    ],
    act: async (tx, l, _i, ctx) => {
      const { plan } = l;
      const previews = l.previews as StepPreview[];
      const doc = withPreviews(intactDocument(plan), previews);
      // Risk is assessed again from the steps (never taken from a stored column), then raised by failed previews.
      const analysis = await analyzePlanScripts(deps.tools, doc.steps, doc.rollback);
      const base = assessRisk(
        plan.environment,
        doc.steps.map((s) => ({ manifest: deps.tools.get(s.tool)!.manifest, action: s.action, input: s.input })),
        analysis.floors,
      );
      const risk = previewRisk({ risk: base.risk, reasons: base.reasons }, previews);
      const requirement = requirementFor(deps.approvalRules, {
        environment: plan.environment,
        risk: risk.risk,
        source: plan.source,
        tools: [...doc.steps, ...doc.rollback].map((s) => s.tool),
      });
      const text = canonicalJson(doc);
      // Policy let the proposer propose this plan up to its ceiling; previews cannot carry it past.
      const aboveCeiling = RISK_LEVELS.indexOf(risk.risk) > RISK_LEVELS.indexOf(l.maxRisk as Risk);
      const status = aboveCeiling || !requirement ? 'rejected' : requirement.autoApproved ? 'approved' : 'pending_approval';
      const statusReason = aboveCeiling
        ? `policy lets the proposer propose this plan up to ${l.maxRisk} risk; its previews raised it to ${risk.risk}`
        : !requirement
          ? `no approval rule covers a ${risk.risk}-risk plan in ${plan.environment} from ${plan.source} once its previews raised the risk`
          : requirement.autoApproved
            ? `auto-approved by rule ${requirement.rules.join(', ')}`
            : null;
      const moved = await attachPreviews(
        tx,
        plan,
        {
          document: text,
          hash: sha256Hex(text),
          risk: risk.risk,
          riskReasons: risk.reasons,
          approval: requirement ?? plan.approval,
          expiresAt: new Date(ctx.now.getTime() + deps.pendingTtlHours * 3_600_000).toISOString(),
          status,
          statusReason,
        },
        deps.grantKeys,
        ctx.now,
      );
      if (!(await tx.previews.markAttached(plan.id, plan.hash, ctx.now.toISOString()))) {
        throw new CountersignError('CONFLICT', `plan ${plan.id}: its preview results changed concurrently`);
      }
      return {
        result: { status: moved.status, hash: moved.hash },
        resource: `plan:${plan.id}`,
        details: {
          status: moved.status,
          hash: moved.hash,
          previousHash: plan.hash,
          risk: moved.risk,
          environment: plan.environment,
          expiresAt: moved.expiresAt,
          previews: previews.map((p) => ({ step: p.step, action: `${p.tool}.${p.action}`, status: p.status, fingerprint: p.fingerprint })),
        },
      };
    },
  };
}
