import { hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AuditAction, AuditOutcome } from './events.ts';

/** prev_hash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** What a caller records. The chain adds seq, time and hashes. */
export interface AuditEvent {
  tenantId: string;
  /** Principal id, or `system`, or `anonymous` for unauthenticated requests. */
  actor: string;
  action: AuditAction;
  outcome: AuditOutcome;
  /** `type:id`, e.g. `plan:pln_…`. */
  resource: string;
  /** Must already be redacted; never a secret value (invariant 12). */
  details?: Record<string, unknown>;
}

/** A stored entry, exactly as the row holds it. */
export interface AuditRecord {
  seq: number;
  ts: string;
  tenantId: string;
  actor: string;
  action: string;
  outcome: string;
  resource: string;
  /** Canonical JSON text of the details, hashed as text so any byte edit shows. */
  details: string;
  prevHash: string;
  hash: string;
}

export function canonicalDetails(details: Record<string, unknown> | undefined): string {
  return canonicalize(details ?? {}) ?? '{}';
}

declare global {
  interface String {
    /** ES2024, in Node since 20: false when the string holds a lone surrogate (the ES2023 lib lacks it). */
    isWellFormed(): boolean;
  }
}

/** Printable ASCII but `"` and `\`: the characters JSON.stringify writes as they are. */
const AS_IS = /^[ !#-[\]-~]*$/;

/** RFC 8785 form of a string: ECMAScript JSON string serialization, refusing lone surrogates. */
export function jcsString(value: string): string {
  if (typeof value !== 'string') throw new Error(`an audit field holds a ${typeof value}, not text`);
  // Most fields (ids, times, hashes, actions) need no escaping: quoted as they are, at half the
  // cost of checking and serializing them (a unit test compares the two on every ASCII character).
  if (AS_IS.test(value)) return `"${value}"`;
  if (!value.isWellFormed()) throw new Error('an audit field holds a lone surrogate and cannot be canonicalized');
  return JSON.stringify(value);
}

/**
 * The hash of an entry: SHA-256 over the RFC 8785 form of every field but the hash itself.
 * The entry has a fixed shape, so its canonical form is written out directly — keys in JCS
 * order, integers as JCS prints them — which equals `canonicalize()` of the same object
 * (a unit test keeps the two equal) at a fraction of the cost on the verify path.
 */
export function entryHash(e: Omit<AuditRecord, 'hash'>): string {
  return hashEntryText(entryText(e));
}

/** The text an entry's hash covers (see entryHash). */
export function entryText(e: Omit<AuditRecord, 'hash'>): string {
  if (!Number.isSafeInteger(e.seq)) throw new Error('an audit sequence number must be a safe integer');
  return (
    `{"action":${jcsString(e.action)},"actor":${jcsString(e.actor)},"details":${jcsString(e.details)},` +
    `"outcome":${jcsString(e.outcome)},"prev":${jcsString(e.prevHash)},"resource":${jcsString(e.resource)},` +
    `"seq":${e.seq},"tenant":${jcsString(e.tenantId)},"ts":${jcsString(e.ts)}}`
  );
}

/** SHA-256 of an entry's text, as entryHash computes it. */
export function hashEntryText(text: string): string {
  // One-shot hash: no Hash object per entry (a third of the cost of hashing a short text).
  return hash('sha256', text, 'hex');
}

/**
 * A stored entry as verification reads it when the store itself writes out the text its hash
 * covers (SQLite: see iterateAuditVerificationPages), instead of every field for this process
 * to assemble: `text` must be exactly entryText of the stored fields.
 */
export interface AuditHashInput {
  seq: number;
  prevHash: string;
  hash: string;
  text: string;
}

/** The reference form of the entry hash input, through the general RFC 8785 implementation. */
export function canonicalEntryText(e: Omit<AuditRecord, 'hash'>): string {
  return (
    canonicalize({
      seq: e.seq,
      ts: e.ts,
      tenant: e.tenantId,
      actor: e.actor,
      action: e.action,
      outcome: e.outcome,
      resource: e.resource,
      details: e.details,
      prev: e.prevHash,
    }) ?? ''
  );
}

export function sealEntry(seq: number, ts: string, prevHash: string, event: AuditEvent): AuditRecord {
  const unsealed = {
    seq,
    ts,
    tenantId: event.tenantId,
    actor: event.actor,
    action: event.action,
    outcome: event.outcome,
    resource: event.resource,
    details: canonicalDetails(event.details),
    prevHash,
  };
  return { ...unsealed, hash: entryHash(unsealed) };
}
