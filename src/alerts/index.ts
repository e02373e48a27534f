// Alerts in, plans out (invariant 21): webhook intake with per-source signatures, signed
// playbooks filled from typed labels, an optional LLM planner held to the playbook, and model
// reviewers whose votes are advice. Everything that changes state runs through the operations.
export { type CandidateOutcome, type Origin, planCandidate } from './candidate.ts';
export { AlertIntake, type IntakeDeps, type IntakeResult, type ResolvedSource, sourcePrincipal } from './intake.ts';
export {
  createModelClient,
  type ModelCallObserver,
  type ModelClient,
  type ModelRefusalReason,
  type ModelRole,
} from './models.ts';
export { type Alert, type AlertDelivery, readDelivery } from './payloads.ts';
export { type Playbook, PlaybookSchema, type Provenance, type ValueOrigin } from './playbook.ts';
export {
  type Candidate,
  compilePlaybook,
  extractFields,
  type LoadedPlaybook,
  loadPlaybookDir,
  loadPlaybookFile,
  matches,
  playbookSignatures,
  type RefusedPlaybook,
  readPlaybookDocument,
  templateCandidate,
} from './playbooks.ts';
export {
  type AlertIntakeOptions,
  type AlertSettings,
  openAlertIntake,
  playbookDir,
  playbooksMissingModels,
  resolveAlertSettings,
  verifyPlaybooks,
} from './setup.ts';
export { HMAC_HEADERS, signGenericDelivery, verifyDelivery } from './signatures.ts';
export { IntakeResultSchema, PlanOriginSchema } from './view.ts';
