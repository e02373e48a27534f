// Backup and restore of a data directory's store (the keys are the operator's to back up).
export { type BackupOptions, type BackupResult, backupStore } from './backup.ts';
export { type RestoreOptions, type RestoreResult, restoreStore } from './restore.ts';
export { verifyStoreAudit } from './verify.ts';
