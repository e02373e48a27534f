import { z } from 'zod';
import { requirementFor } from '../approvals/index.ts';
import { CountersignError } from '../errors/index.ts';
import {
  analyzePlanScripts,
  assertStatus,
  canonicalJson,
  PLAN_STATUSES,
  type PlanDocument,
  type PlanFindings,
  type PlanSource,
  type PlanView,
  ProposeBodySchema,
  sealPlan,
  sha256Hex,
  toPlanView,
  transition,
  validateSteps,
} from '../plans/index.ts';
import { assessRisk, decideRequest, type ResourceRef } from '../policy/index.ts';
import type { PlanRecord, TenantScope } from '../store/index.ts';
import { currentSpan } from '../telemetry/index.ts';
import { RISK_LEVELS, type Risk } from '../tools/index.ts';
import type { OperationDeps } from './deps.ts';
import { reviewerView, reviewerViewWithFindings, withNames } from './plan-views.ts';
import { assertPreviewInputs, PREVIEWING_REASON } from './previews.ts';
import type { AnyOperation, Channel, Operation, OperationContext } from './types.ts';

export const PlanIdSchema = z.string().min(1).max(128);

export const ListPlansQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(512).optional(),
    status: z.enum(PLAN_STATUSES).optional(),
    environment: z.string().max(64).optional(),
  })
  .strict();

export function planResource(p: PlanRecord): ResourceRef {
  return {
    type: 'Plan',
    id: p.id,
    tenantId: p.tenantId,
    environment: p.environment,
    risk: p.risk,
    source: p.source,
    proposerId: p.proposerId,
  };
}

export function tenantResource(ctx: OperationContext): ResourceRef {
  return { type: 'Tenant', id: ctx.principal.tenantId, tenantId: ctx.principal.tenantId };
}

export async function loadPlan(tx: TenantScope, planId: string): Promise<PlanRecord> {
  const p = await tx.plans.get(planId);
  if (!p) throw new CountersignError('NOT_FOUND', `plan ${planId} not found`);
  return p;
}

/** The source a plan records: the interface it came through; an API caller may declare a less trusted one. */
function sourceOf(channel: Channel, declared: PlanSource | undefined): PlanSource {
  if (channel === 'api') return declared ?? 'api';
  if (channel === 'cli' || channel === 'mcp' || channel === 'webhook') return channel;
  return 'api';
}

type ProposeInput = z.infer<typeof ProposeBodySchema>;

interface Proposal {
  record: PlanRecord;
  findings: PlanFindings;
  unsignedTools: string[];
  rules: string[];
  /**
   * Set when a step's tool is not usable (refused at load, or short of the signatures its
   * environment requires): the proposal is refused by the first guard, on the environment,
   * before the steps are validated against a manifest that did not load.
   */
  refused?: CountersignError;
}

/**
 * The highest risk at which Cedar lets this principal propose this plan (it is allowed at its
 * risk now: the pipeline just decided that). Previews may raise a plan's risk after proposal;
 * the attach refuses a plan raised above this, so a forbid on riskLevel holds for previewed
 * plans too without deciding again for a principal that is no longer in the request.
 */
function proposeCeiling(deps: OperationDeps, ctx: OperationContext, record: PlanRecord): Risk {
  let ceiling = record.risk;
  for (const risk of RISK_LEVELS.slice(RISK_LEVELS.indexOf(record.risk) + 1)) {
    const resource = { ...planResource(record), risk };
    const decision = decideRequest(deps.authorizer, {
      principal: ctx.principal,
      action: 'plan.propose',
      resource,
      context: { channel: ctx.channel },
    });
    if (!decision.allow) break;
    ceiling = risk;
  }
  return ceiling;
}

function propose(deps: OperationDeps): Operation<ProposeInput, Proposal, PlanView, PlanFindings> {
  return {
    name: 'plan.propose',
    action: 'plan.propose',
    kind: 'mutation',
    summary: 'Propose a plan: validate its steps, assess risk from them, hash and store it.',
    input: ProposeBodySchema,
    // Decided first on the environment alone, so an unauthorized caller learns nothing from
    // analysis; decided again on the plan itself once its risk is known (issue: a forbid on
    // riskLevel must take effect).
    gate: (req, ctx) => {
      if (req.tenant !== undefined && req.tenant !== ctx.principal.tenantId) {
        throw new CountersignError('CONTEXT_CONFLICT', 'body.tenant names another tenant than the caller belongs to; omit it');
      }
      return { type: 'Environment', id: req.environment, tenantId: ctx.principal.tenantId, environment: req.environment };
    },
    prepare: (req) => analyzePlanScripts(deps.tools, req.steps, req.rollback),
    load: async (tx, req, ctx, analysis) => {
      if (!(await tx.directory.getEnvironment(req.environment))) {
        throw new CountersignError('UNKNOWN_ENVIRONMENT', `environment: "${req.environment}" does not exist in this tenant`, {
          details: { field: 'environment' },
        });
      }
      const source = sourceOf(ctx.channel, req.source);
      let unsignedTools: string[];
      try {
        unsignedTools = await deps.toolTrust.assertUsable(
          tx.installationTrust,
          req.environment,
          [...req.steps, ...req.rollback].map((step) => step.tool),
        );
      } catch (err) {
        if (!(err instanceof CountersignError) || err.code !== 'TOOL_UNTRUSTED') throw err;
        const nothing = { environment: req.environment, tenantId: ctx.principal.tenantId } as PlanRecord;
        return { record: nothing, findings: analysis, unsignedTools: [], rules: [], refused: err };
      }
      const steps = validateSteps(deps.tools, req.steps, 'steps');
      const rollback = validateSteps(deps.tools, req.rollback, 'rollback');
      const risk = assessRisk(
        req.environment,
        steps.steps.map((s, i) => ({ manifest: steps.manifests[i]!, action: s.action, input: s.input })),
        analysis.floors,
      );
      const document: PlanDocument = {
        v: 1,
        tenant: ctx.principal.tenantId,
        environment: req.environment,
        intent: req.intent,
        proposer: ctx.principal.id,
        source,
        steps: steps.steps,
        rollback: rollback.steps,
      };
      const requirement = requirementFor(deps.approvalRules, {
        environment: req.environment,
        risk: risk.risk,
        source,
        tools: [...steps.steps, ...rollback.steps].map((s) => s.tool),
      });
      // previews (issue 17): a plan whose steps have previews waits for them before anyone may review it.
      const previewing = assertPreviewInputs(deps, steps.steps);
      const text = canonicalJson(document);
      const at = ctx.now.toISOString();
      const record: PlanRecord = {
        tenantId: ctx.principal.tenantId,
        id: deps.runtime.newId('pln'),
        environment: req.environment,
        intent: req.intent,
        document: text,
        hash: sha256Hex(text),
        risk: risk.risk,
        riskReasons: risk.reasons,
        status: previewing ? 'previewing' : requirement?.autoApproved ? 'approved' : 'pending_approval',
        statusReason: previewing
          ? PREVIEWING_REASON
          : requirement?.autoApproved
            ? `auto-approved by rule ${requirement.rules.join(', ')}`
            : null,
        source,
        proposerId: ctx.principal.id,
        createdAt: at,
        updatedAt: at,
        expiresAt: new Date(ctx.now.getTime() + deps.pendingTtlHours * 3_600_000).toISOString(),
        approval: requirement ?? { require: [], ttlHours: 0, autoApproved: false, rules: [] },
        seal: null,
      };
      record.seal = sealPlan(deps.grantKeys, record);
      return { record, findings: analysis, unsignedTools, rules: requirement ? requirement.rules : [] };
    },
    resource: (p, req, ctx) =>
      p.refused
        ? { type: 'Environment', id: req.environment, tenantId: ctx.principal.tenantId, environment: req.environment }
        : planResource(p.record),
    guards: [
      (_tx, p) => {
        if (p.refused) throw p.refused;
      },
      (_tx, p) => {
        if (!p.findings.deny) return;
        const worst = p.findings.findings.filter((f) => f.severity === 'deny');
        throw new CountersignError(
          'SCRIPT_REFUSED',
          `script analysis refused the plan: ${worst.map((f) => `${f.phase}[${f.step}] line ${f.line}: ${f.message}`).join('; ')}`,
          { details: { findings: p.findings.findings } },
        );
      },
      (_tx, p) => {
        if (p.rules.length > 0) return;
        throw new CountersignError(
          'POLICY_DENIED',
          `no approval rule covers a ${p.record.risk}-risk plan in ${p.record.environment} from ${p.record.source}; add a rule to approvals.yaml`,
        );
      },
    ],
    act: async (tx, p, _req, ctx) => {
      // observability: the proposing request's trace, for the approvals' and execution's span links.
      const traceContext = currentSpan().traceparent();
      await tx.plans.insert(traceContext ? { ...p.record, traceContext } : p.record);
      if (p.record.status === 'previewing')
        await tx.previews.queue(p.record.id, p.record.hash, p.record.createdAt, proposeCeiling(deps, ctx, p.record));
      const doc = JSON.parse(p.record.document) as PlanDocument;
      return {
        result: { ...reviewerView(deps, p.record, [], ctx.now), proposerName: ctx.principal.name, findings: p.findings.findings },
        resource: `plan:${p.record.id}`,
        details: {
          hash: p.record.hash,
          risk: p.record.risk,
          environment: p.record.environment,
          source: p.record.source,
          steps: doc.steps.length,
          status: p.record.status,
          rules: p.rules,
          ...(p.unsignedTools.length > 0 ? { unsignedTools: p.unsignedTools, warning: 'UNSIGNED tool manifests (developmentMode)' } : {}),
          findings: p.findings.findings.map((f) => `${f.phase}[${f.step}]:${f.rule}:${f.severity}`),
        },
      };
    },
  };
}

const PlanRef = z.object({ planId: PlanIdSchema }).strict();
const CancelInput = z.object({ planId: PlanIdSchema, reason: z.string().max(2000).default('') }).strict();

export function planOperations(deps: OperationDeps): AnyOperation[] {
  const get: Operation<z.infer<typeof PlanRef>, PlanRecord, PlanView> = {
    name: 'plan.get',
    action: 'plan.read',
    kind: 'read',
    summary: 'Read one plan with its reviews, tally, rendered command lines and script findings.',
    input: PlanRef,
    load: (tx, { planId }) => loadPlan(tx, planId),
    resource: planResource,
    act: async (tx, plan, _i, ctx) => {
      const [view] = await withNames(tx, [await reviewerViewWithFindings(deps, plan, await tx.approvals.forPlan(plan.id), ctx.now)]);
      return { result: view as PlanView };
    },
  };
  const list: Operation<z.infer<typeof ListPlansQuerySchema>, null, { plans: PlanView[]; nextCursor: string | null }> = {
    name: 'plan.list',
    action: 'plan.read',
    kind: 'read',
    summary: "List the tenant's plans, newest first, by status and environment.",
    input: ListPlansQuerySchema,
    load: async () => null,
    resource: (_l, _i, ctx) => tenantResource(ctx),
    act: async (tx, _l, q, ctx) => {
      try {
        const page = await tx.plans.list(q);
        const plans = await withNames(
          tx,
          page.plans.map((p) => toPlanView(p, null, ctx.now)),
        );
        return { result: { plans, nextCursor: page.nextCursor } };
      } catch (err) {
        if (err instanceof RangeError) {
          throw new CountersignError('VALIDATION_FAILED', 'cursor: invalid cursor', { details: { field: 'cursor' } });
        }
        throw err;
      }
    },
  };
  const cancel: Operation<z.infer<typeof CancelInput>, PlanRecord, PlanView> = {
    name: 'plan.cancel',
    action: 'plan.cancel',
    kind: 'mutation',
    summary: 'Cancel a pending plan.',
    input: CancelInput,
    load: (tx, { planId }) => loadPlan(tx, planId),
    resource: planResource,
    guards: [(_tx, plan) => assertStatus(plan, ['pending_approval', 'previewing'], 'only pending plans can be cancelled')],
    act: async (tx, plan, { reason }, ctx) => {
      const why = reason || `cancelled by ${ctx.principal.name}`;
      const moved = await transition(tx, plan, 'cancelled', why, ctx.now);
      return { result: toPlanView(moved, null, ctx.now), details: { reason } };
    },
  };
  return [propose(deps), get, list, cancel];
}
