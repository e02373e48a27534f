export { type AuditEvent, type AuditRecord, canonicalDetails, entryHash, GENESIS_HASH, sealEntry } from './chain.ts';
export { AUDIT_ACTIONS, AUDIT_OUTCOMES, type AuditAction, type AuditOutcome, auditCode } from './events.ts';
export {
  auditPublicKeysIn,
  type Checkpoint,
  CheckpointSigner,
  generateAuditKeyPair,
  keyIdOf,
  publicKeyMap,
  verifyCheckpoint,
} from './signing.ts';
export { type AuditProblem, type VerifyReport, verifyAuditChain } from './verify.ts';
export { type AuditEntryView, type AuditPage, AuditPageSchema, toAuditView } from './view.ts';
