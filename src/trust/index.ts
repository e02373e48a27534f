// Trust in tool publishers (invariant 13): the K-of-N policy, the trust store's views (its changes
// are operations), and the gate that re-verifies tools against the current store.
export { manifestTrustAtStart, reportToolLoad } from './bootstrap.ts';
export { ToolTrustGate, type ToolTrustGateDeps } from './gate.ts';
export { TrustedKeyCache, type TrustStoreReader } from './keys.ts';
export { judgeTool, loadThreshold, requiredSignatures, type ToolTrustVerdict } from './policy.ts';
export {
  AddTrustedKeySchema,
  RemoveTrustedKeySchema,
  type TrustedKeyView,
  TrustedKeyViewSchema,
  type TrustListView,
  TrustListViewSchema,
  trustedKeyView,
} from './view.ts';
