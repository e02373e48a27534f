// Trust in tool publishers (invariant 13): the K-of-N policy, the trust store service behind
// the chokepoint, and the gate that re-verifies tools against the current store.
export { manifestTrustAtStart, reportToolLoad, trustPublisherKeyAtInit } from './bootstrap.ts';
export { ToolTrustGate, type ToolTrustGateDeps } from './gate.ts';
export { TrustedKeyCache, type TrustStoreReader } from './keys.ts';
export { judgeTool, loadThreshold, requiredSignatures, type ToolTrustVerdict } from './policy.ts';
export {
  AddTrustedKeySchema,
  RemoveTrustedKeySchema,
  type TrustedKeyView,
  type TrustListView,
  TrustService,
  type TrustServiceDeps,
} from './service.ts';
