// Plans: the hashed document, the status machine and the lifecycle checks every operation and
// the executor share, validation of steps against manifests, script findings, and views.
export {
  canonicalJson,
  PLAN_SOURCES,
  type PlanDocument,
  type PlanSource,
  type PlanStep,
  type ProposeBody,
  ProposeBodySchema,
  parseStoredDocument,
  planHash,
  sha256Hex,
} from './document.ts';
export { analyzePlanScripts, type PlanFindings, type StepFinding } from './findings.ts';
export {
  assertApprovalsSatisfied,
  assertNotExpired,
  assertNotFrozen,
  assertRunnable,
  assertSealed,
  assertStatus,
  assertStepMayRun,
  assertToolsUnchanged,
  // ---- previews (issue 17) ----
  attachPreviews,
  intactDocument,
  isExpired,
  type PreviewedContent,
  previewOverdue,
  type RunBasis,
  reopenForPreview,
  sealPlan,
  sealReview,
  transition,
} from './lifecycle.ts';
// ---- previews (issue 17) ----
export {
  looksLikeDiff,
  PREVIEW_ERRORS_CAP,
  PREVIEW_OUTPUT_CAP,
  PREVIEW_STATUSES,
  type PreviewedStep,
  type PreviewStatus,
  parsePreviewResults,
  previewedSteps,
  previewInput,
  previewRisk,
  type StepPreview,
  StepPreviewSchema,
  withPreviews,
} from './previews.ts';
export { canTransition, isTerminal, PLAN_STATUSES, type PlanStatus } from './status.ts';
export { renderedCommand, type SubmittedStep, validateSteps } from './validate.ts';
export {
  type ApprovalView,
  type DecisionResult,
  DecisionResultSchema,
  type Inbox,
  InboxSchema,
  type PlanPage,
  PlanPageSchema,
  type PlanView,
  PlanViewSchema,
  type StepPreviewView,
  type StepView,
  tallyFor,
  toPlanView,
} from './view.ts';
