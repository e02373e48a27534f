import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import { PLAN_SOURCES, type PlanSource } from '../policy/index.ts';
import { type Risk, RiskSchema } from '../tools/index.ts';

/** Sources whose plans are never auto-approved, whatever a rule says (invariant 6). */
export const EXTERNAL_SOURCES: readonly PlanSource[] = ['webhook', 'planner'];

const GROUP = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'group names are lowercase letters, digits, - and _');
const RequirementSchema = z
  .object({
    group: GROUP.describe('A principal group whose members may fill these seats.'),
    count: z.number().int().min(1).max(20).describe('Distinct reviewers of that group who must approve; the proposer never counts.'),
  })
  .strict();
export type Requirement = z.infer<typeof RequirementSchema>;

const RuleSchema = z
  .object({
    name: z.string().min(1).max(64).describe("Names the rule in the plan's approval requirement and the audit log."),
    match: z
      .object({
        environment: z.array(z.string().min(1)).min(1).optional().describe("The plan's environment is one of these."),
        risk: z.array(RiskSchema).min(1).optional().describe("The plan's computed risk is one of these."),
        tool: z.array(z.string().min(1)).min(1).optional().describe('At least one step uses one of these tools.'),
        source: z.array(z.enum(PLAN_SOURCES)).min(1).optional().describe('The plan came from one of these sources.'),
      })
      .strict()
      .default({})
      .describe('Conditions that must all hold (absent ones hold); an empty match matches every plan.'),
    require: z.array(RequirementSchema).default([]).describe('Approvals the plan needs: every entry must be met.'),
    autoApprove: z
      .boolean()
      .default(false)
      .describe('Approve at proposal without reviewers. Excludes require; never for webhook or planner plans.'),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.autoApprove && r.require.length > 0)
      ctx.addIssue({ code: 'custom', message: `rule "${r.name}": autoApprove and require exclude each other` });
    if (!r.autoApprove && r.require.length === 0)
      ctx.addIssue({ code: 'custom', message: `rule "${r.name}": needs require (or autoApprove: true)` });
    if (r.autoApprove && r.match.source?.some((s) => EXTERNAL_SOURCES.includes(s))) {
      ctx.addIssue({ code: 'custom', message: `rule "${r.name}": plans from webhook or planner sources can never be auto-approved` });
    }
  });

export const ApprovalRulesSchema = z
  .object({
    /** An approval older than this no longer counts (invariant 5). */
    approvalTtlHours: z
      .number()
      .min(0.01)
      .max(24 * 30)
      .default(24)
      .describe('An approval older than this many hours no longer counts.'),
    /** What an externally sourced plan needs when the only matching rules would auto-approve it. */
    externalSourceRequires: z
      .array(RequirementSchema)
      .min(1)
      .default([{ group: 'approvers', count: 1 }])
      .describe('What a webhook or planner plan needs when the rule it matches would auto-approve it.'),
    rules: z.array(RuleSchema).min(1).describe('Tried top to bottom; the first rule that matches a plan decides what it needs.'),
  })
  .strict();
export type ApprovalRules = z.infer<typeof ApprovalRulesSchema>;

export interface PlanFacts {
  environment: string;
  risk: Risk;
  source: PlanSource;
  tools: readonly string[];
}

/** What a plan needs before it may run; stored with the plan at proposal. */
export interface ApprovalRequirement {
  rules: string[];
  autoApproved: boolean;
  require: Requirement[];
  ttlHours: number;
}

function matches(rule: ApprovalRules['rules'][number], p: PlanFacts): boolean {
  const m = rule.match;
  return (
    (!m.environment || m.environment.includes(p.environment)) &&
    (!m.risk || m.risk.includes(p.risk)) &&
    (!m.source || m.source.includes(p.source)) &&
    (!m.tool || p.tools.some((t) => m.tool?.includes(t)))
  );
}

/**
 * Rules are tried top to bottom and the first that matches decides, like a firewall: put the
 * specific rules (prod + high) above the general ones. Plans from external sources are never
 * auto-approved: an auto-approve rule matching one yields `externalSourceRequires` instead. A
 * plan that no rule matches cannot be approved at all — it is refused at proposal.
 */
export function requirementFor(rules: ApprovalRules, plan: PlanFacts): ApprovalRequirement | null {
  const hit = rules.rules.find((r) => matches(r, plan));
  if (!hit) return null;
  const external = EXTERNAL_SOURCES.includes(plan.source);
  if (hit.autoApprove && !external) return { rules: [hit.name], autoApproved: true, require: [], ttlHours: rules.approvalTtlHours };
  const require = hit.autoApprove ? rules.externalSourceRequires : hit.require;
  return { rules: [hit.name], autoApproved: false, require: require.map((q) => ({ ...q })), ttlHours: rules.approvalTtlHours };
}

export function parseApprovalRules(text: string, file = 'approvals.yaml'): ApprovalRules {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new CountersignError('CONFIG_INVALID', `${file}: not valid YAML: ${(err as Error).message}`);
  }
  const r = ApprovalRulesSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new CountersignError('CONFIG_INVALID', `${file}: ${i?.path.join('.') || '(root)'}: ${i?.message ?? 'invalid'}`);
  }
  return r.data;
}

export function loadApprovalRules(file: string): ApprovalRules {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CountersignError('CONFIG_INVALID', `cannot read approval rules ${file}: ${(err as Error).message}`);
  }
  return parseApprovalRules(text, file);
}

export const BASELINE_APPROVAL_RULES = `# Approval rules, tried top to bottom: the first rule whose match fits a plan decides what it
# needs (N approvals from each named group), so put specific rules above general ones.
# Example of a specific rule (reviewers of these groups also need a Cedar permit to review):
#   - name: prod-high
#     match: { environment: [prod], risk: [high, critical] }
#     require: [{ group: sre, count: 2 }, { group: security, count: 1 }]
# Plans from webhook or planner sources are never auto-approved. A plan that no rule matches
# is refused at proposal. Proposers never count on their own plans; one person fills one seat.
approvalTtlHours: 24
externalSourceRequires:
  - { group: approvers, count: 1 }
rules:
  - name: prod
    match: { environment: [prod] }
    require:
      - { group: approvers, count: 2 }
  - name: staging
    match: { environment: [staging] }
    require:
      - { group: approvers, count: 1 }
  - name: dev-low-auto
    match: { environment: [dev], risk: [low], source: [api, cli, mcp] }
    autoApprove: true
  - name: dev-default
    match: { environment: [dev] }
    require:
      - { group: approvers, count: 1 }
`;
