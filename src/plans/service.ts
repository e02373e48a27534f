import { z } from 'zod';
import { type ApprovalRules, requirementFor } from '../approvals/rules.ts';
import { CountersignError } from '../errors/index.ts';
import { type PrivilegeDeps, requirePrivilege, requireRead } from '../policy/require-privilege.ts';
import { assessRisk } from '../policy/risk.ts';
import type { Principal } from '../policy/types.ts';
import type { Runtime } from '../runtime.ts';
import type { ToolRegistry } from '../tools/index.ts';
import type { ToolTrustGate } from '../trust/index.ts';
import { canonicalJson, type PlanDocument, type PlanSource, ProposeBodySchema, sha256Hex } from './document.ts';
import { analyzePlanScripts } from './findings.ts';
import { PLAN_STATUSES } from './status.ts';
import { renderedCommand, validateSteps } from './validate.ts';
import { type PlanView, type StepView, toPlanView } from './view.ts';

export interface PlanServiceDeps extends PrivilegeDeps {
  tools: ToolRegistry;
  approvalRules: ApprovalRules;
  runtime: Runtime;
  pendingTtlHours: number;
  /** Verifies each step's tool against the trust store as it is now (invariant 13). */
  toolTrust: ToolTrustGate;
}

export const ListPlansQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(512).optional(),
    status: z.enum(PLAN_STATUSES).optional(),
    environment: z.string().max(64).optional(),
  })
  .strict();

/** Turns a zod failure into a 400 naming the first bad field. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue?.path.map(String).join('.') || what;
  const message = issue?.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : (issue?.message ?? 'invalid');
  throw new CountersignError('VALIDATION_FAILED', `${path}: ${message}`, { details: { field: path } });
}

/** Propose, read and list plans. Every path goes through requirePrivilege / requireRead. */
export class PlanService {
  constructor(private readonly deps: PlanServiceDeps) {}

  /**
   * authorize (on the environment) → validate steps against manifests → risk from steps →
   * canonical document and hash → store with its audit entry, in one transaction.
   */
  async propose(principal: Principal, body: unknown, interfaceSource: PlanSource): Promise<PlanView> {
    const req = parseOrThrow(ProposeBodySchema, body, 'body');
    if (req.tenant !== undefined && req.tenant !== principal.tenantId) {
      throw new CountersignError('CONTEXT_CONFLICT', 'body.tenant names another tenant than the caller belongs to; omit it');
    }
    // An API caller may declare a less-trusted source (planner), never a more trusted one.
    const source: PlanSource = interfaceSource === 'api' && req.source ? req.source : interfaceSource;
    const resource = { type: 'Environment' as const, id: req.environment, tenantId: principal.tenantId, environment: req.environment };
    // Analysis reads only the request; its verdict is applied inside the privileged action below,
    // so an unauthorized caller learns nothing from it and no write lock is held while it runs.
    const analysis = await analyzePlanScripts(this.deps.tools, req.steps, req.rollback);
    return requirePrivilege(this.deps, principal, 'plan.propose', resource, async (scope) => {
      if (!(await scope.directory.getEnvironment(req.environment))) {
        throw new CountersignError('UNKNOWN_ENVIRONMENT', `environment: "${req.environment}" does not exist in this tenant`, {
          details: { field: 'environment' },
        });
      }
      const unsignedTools = await this.deps.toolTrust.assertUsable(
        scope.installationTrust,
        req.environment,
        [...req.steps, ...req.rollback].map((s) => s.tool),
      );
      const steps = validateSteps(this.deps.tools, req.steps, 'steps');
      const rollback = validateSteps(this.deps.tools, req.rollback, 'rollback');
      if (analysis.deny) {
        const worst = analysis.findings.filter((f) => f.severity === 'deny');
        throw new CountersignError(
          'SCRIPT_REFUSED',
          `script analysis refused the plan: ${worst.map((f) => `${f.phase}[${f.step}] line ${f.line}: ${f.message}`).join('; ')}`,
          {
            details: { findings: analysis.findings },
          },
        );
      }
      const risk = assessRisk(
        req.environment,
        steps.steps.map((s, i) => ({ manifest: steps.manifests[i]!, action: s.action, input: s.input })),
        analysis.floors,
      );
      const document: PlanDocument = {
        v: 1,
        tenant: principal.tenantId,
        environment: req.environment,
        intent: req.intent,
        proposer: principal.id,
        source,
        steps: steps.steps,
        rollback: rollback.steps,
      };
      const approval = requirementFor(this.deps.approvalRules, {
        environment: req.environment,
        risk: risk.risk,
        source,
        tools: [...steps.steps, ...rollback.steps].map((s) => s.tool),
      });
      if (!approval) {
        throw new CountersignError(
          'POLICY_DENIED',
          `no approval rule covers a ${risk.risk}-risk plan in ${req.environment} from ${source}; add a rule to approvals.yaml`,
        );
      }
      const text = canonicalJson(document);
      const hash = sha256Hex(text);
      const now = this.deps.runtime.now();
      const record = {
        tenantId: principal.tenantId,
        id: this.deps.runtime.newId('pln'),
        environment: req.environment,
        intent: req.intent,
        document: text,
        hash,
        risk: risk.risk,
        riskReasons: risk.reasons,
        status: approval.autoApproved ? ('approved' as const) : ('pending_approval' as const),
        statusReason: approval.autoApproved ? `auto-approved by rule ${approval.rules.join(', ')}` : null,
        source,
        proposerId: principal.id,
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + this.deps.pendingTtlHours * 3_600_000).toISOString(),
        approval,
      };
      await scope.plans.insert(record);
      return {
        result: { ...this.#withArgv(toPlanView(record, [], now)), findings: analysis.findings },
        resource: `plan:${record.id}`,
        details: {
          hash,
          risk: risk.risk,
          environment: req.environment,
          source,
          steps: steps.steps.length,
          status: record.status,
          rules: approval.rules,
          ...(unsignedTools.length > 0 ? { unsignedTools, warning: 'UNSIGNED tool manifests (developmentMode)' } : {}),
          findings: analysis.findings.map((f) => `${f.phase}[${f.step}]:${f.rule}:${f.severity}`),
        },
      };
    });
  }

  async get(principal: Principal, id: string): Promise<PlanView> {
    const plan = await this.deps.store.scope(principal.tenantId).plans.get(id);
    if (!plan) throw new CountersignError('NOT_FOUND', `plan ${id} not found`);
    await requireRead(this.deps, principal, 'plan.read', {
      type: 'Plan',
      id,
      tenantId: plan.tenantId,
      environment: plan.environment,
      risk: plan.risk,
      source: plan.source,
      proposerId: plan.proposerId,
    });
    const votes = await this.deps.store.scope(principal.tenantId).approvals.forPlan(id);
    const view = this.#withArgv(toPlanView(plan, votes, this.deps.runtime.now()));
    // Findings are recomputed from the stored steps so reviewers always see the current analysis.
    const analysis = await analyzePlanScripts(this.deps.tools, view.steps, view.rollback);
    return { ...view, findings: analysis.findings };
  }

  /** Adds the rendered command line of every step so reviewers see exactly what would run. */
  #withArgv(view: PlanView): PlanView {
    const render = (s: StepView): StepView => {
      const r = renderedCommand(this.deps.tools, s);
      return r.note ? { ...s, argv: r.argv, argvNote: r.note } : { ...s, argv: r.argv };
    };
    const unsigned = this.deps.toolTrust.unsignedIn(
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

  async list(principal: Principal, query: unknown): Promise<{ plans: PlanView[]; nextCursor: string | null }> {
    const q = parseOrThrow(ListPlansQuerySchema, query, 'query');
    await requireRead(this.deps, principal, 'plan.read', { type: 'Tenant', id: principal.tenantId, tenantId: principal.tenantId });
    try {
      const page = await this.deps.store.scope(principal.tenantId).plans.list(q);
      const now = this.deps.runtime.now();
      return { plans: page.plans.map((p) => toPlanView(p, null, now)), nextCursor: page.nextCursor };
    } catch (err) {
      if (err instanceof RangeError)
        throw new CountersignError('VALIDATION_FAILED', 'cursor: invalid cursor', { details: { field: 'cursor' } });
      throw err;
    }
  }
}
