// Approval requirements: the rules that say who must countersign which plan, and the tally
// that counts distinct reviewers into seats. Pure; the review operations and the plan
// lifecycle use them.
export {
  type ApprovalRequirement,
  type ApprovalRules,
  ApprovalRulesSchema,
  BASELINE_APPROVAL_RULES,
  EXTERNAL_SOURCES,
  loadApprovalRules,
  type PlanFacts,
  parseApprovalRules,
  type Requirement,
  requirementFor,
} from './rules.ts';
export {
  ALL_RISKS,
  DEFAULT_STEP_UP,
  requiresStepUp,
  type StepUpRisk,
  type StepUpSettings,
  stepUpSettings,
} from './step-up.ts';
export { type Tally, tally, type Vote } from './tally.ts';
export { TallySchema } from './tally-view.ts';
