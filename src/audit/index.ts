export {
  type AuditEvent,
  type AuditHashInput,
  type AuditRecord,
  canonicalDetails,
  entryHash,
  entryText,
  GENESIS_HASH,
  sealEntry,
} from './chain.ts';
export { cosign, cosignerKey, verifyCosignature } from './cosignature.ts';
export { AUDIT_ACTIONS, AUDIT_OUTCOMES, type AuditAction, type AuditOutcome, auditCode } from './events.ts';
export { auditLeafHash, EMPTY_ROOT, leafHash, MerkleTree, nodeHash, verifyConsistency, verifyInclusion } from './merkle.ts';
export {
  type CheckpointBody,
  checkpointOf,
  formatCheckpoint,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  signNote,
  splitNote,
  verifierKey,
} from './note.ts';
export {
  type AuditSigner,
  type AuditTree,
  AuditTreeBuilder,
  type BundleCheck,
  buildAuditTree,
  type ConsistencyBundle,
  consistencyBundle,
  type InclusionBundle,
  inclusionBundle,
  signCheckpoint,
  verifyBundle,
} from './proofs.ts';
export {
  auditPublicKeysIn,
  type Checkpoint,
  CheckpointSigner,
  generateAuditKeyPair,
  keyIdOf,
  publicKeyMap,
  verifyCheckpointInBackground,
} from './signing.ts';
export {
  type AuditProblem,
  type AuditSegment,
  type SegmentWalk,
  type VerifiableEntries,
  type VerifiableEntry,
  type VerifyReport,
  verifyAuditChain,
  walkSegment,
} from './verify.ts';
export { type AuditEntryView, type AuditPage, AuditPageSchema, toAuditView } from './view.ts';
export { type WitnessQuorum, witnessedSize } from './witnessed.ts';
