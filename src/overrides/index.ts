// Break-glass overrides (invariant 14): signed, scoped, short-lived, single-use, revocable.

export {
  type AcceptedOverride,
  type IssuedOverride,
  IssueOverrideSchema,
  MAX_OVERRIDE_TTL_SECONDS,
  OverrideAuthority,
  type OverrideAuthorityDeps,
  type OverrideView,
  overrideResource,
  RevokeOverrideSchema,
  toOverrideView,
} from './authority.ts';
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
export { overrideStepRefusal } from './revalidate.ts';
export { type OverrideStatus, outOfScope, overrideStatus, type StepRef } from './scope.ts';
export { IssuedOverrideSchema, OverrideListSchema, OverrideViewSchema } from './view.ts';
