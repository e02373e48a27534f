// Break-glass overrides (invariant 14): signed, scoped, short-lived, single-use, revocable.
export {
  OVERRIDE_ID,
  type OverrideDocument,
  OverrideDocumentSchema,
  overrideSigningText,
  parseOverrideDocument,
  parsePresentedOverride,
  type SignedOverride,
  SignedOverrideSchema,
  signOverride,
  verifyOverrideText,
} from './document.ts';
export {
  createOverrideKey,
  hasOverrideKey,
  loadOverrideSigningKey,
  loadOverrideVerificationKeys,
  OVERRIDE_PRIVATE_KEY,
  OVERRIDE_PUBLIC_KEY,
  type OverrideSigningKey,
} from './keys.ts';
export { assertOverridable } from './plan-checks.ts';
export { overrideStepRefusal } from './revalidate.ts';
export { type OverrideStatus, outOfScope, overrideStatus, type StepRef } from './scope.ts';
export {
  type AcceptedOverride,
  type IssuedOverride,
  IssueOverrideSchema,
  MAX_OVERRIDE_TTL_SECONDS,
  OverrideService,
  type OverrideServiceDeps,
  type OverrideView,
  overrideResource,
  RevokeOverrideSchema,
} from './service.ts';
