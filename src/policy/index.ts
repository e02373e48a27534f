// The policy domain's public surface: Cedar authorization, the baseline policy set, canaries,
// policy tests, the one decision function (code rules + Cedar) and risk classification. Other domains import from here, never from the files behind it.
export { BASELINE_POLICIES } from './baseline.ts';
export { CANARIES, type Canary, type CanaryResult, checkCanaries } from './canaries.ts';
export { CedarAuthorizer, type CedarAuthorizerOptions, DenyAllAuthorizer } from './cedar.ts';
export { decideRequest, isSelfApproval } from './decide.ts';
export {
  baselinePolicySet,
  loadCedarAuthorizer,
  loadPolicyDir,
  POLICY_ID,
  type PolicyDir,
  policiesPath,
  splitPolicyFile,
  writeBaselinePolicies,
} from './policy-dir.ts';
export type { CedarEngine } from './policy-set.ts';
export {
  diffPolicies,
  type PolicyDiffEntry,
  type PolicyOutcome,
  type PolicyTestCase,
  type PolicyTestResult,
  parsePolicyTests,
  runPolicyTests,
} from './policy-test.ts';
export { ReloadableAuthorizer } from './reloadable.ts';
export { assessRisk, MANY_TARGETS, RAISED_ENVIRONMENTS, type RiskAssessment, type RiskStep, raise as raiseRisk } from './risk.ts';
export { BASELINE_SCHEMA, SCHEMA_FILE } from './schema.ts';
export {
  ACTIONS,
  type Authorizer,
  type AuthzRequest,
  type Decision,
  type Denial,
  HOST_ACTIONS,
  PLAN_SOURCES,
  type PlanSource,
  type Principal,
  type PrivilegedAction,
  type ResourceRef,
  type ResourceType,
} from './types.ts';
export { type PolicyUpgradeReport, upgradeBaselinePolicies } from './upgrade.ts';
